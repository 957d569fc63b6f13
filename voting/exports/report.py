"""The printed results report of a frozen event (A4 PDF), for the award day and the archive.

A cover with the awards and the two SHA-256 fingerprints (the frozen snapshot, the published
transparency bundle), then per category its standings, the rule with the category's weights,
the warnings and how each tie was settled, and how each award winner's total was made.

The words and numbers come from the same helpers as the results pages
(``voting.results.routes.TEMPLATE_HELPERS`` and the macros of ``results/_macros.html``), so
the report says exactly what the pages say; numbers are ``scoring.display()`` values.
WeasyPrint renders it with the Nanum fonts of the Debian package ``fonts-nanum``: without a
Korean font every Hangul letter would print as a box.
"""
import os
import unicodedata
from functools import lru_cache

from flask import current_app, render_template
from weasyprint import CSS, HTML

from voting.exports.awards import event_awards
from voting.i18n import format_seoul_datetime
from voting.results.routes import METHOD_LABELS, TEMPLATE_HELPERS, weights_text

STYLESHEET = ("css", "report.css")
WORD_JOINER = "\u2060"


def keep_words(text):
    """The text with each Korean word kept whole on a line, for the narrow table cells.

    Line breaking may split Korean between any two letters ("도서" / "관"); CSS would say
    ``word-break: keep-all``, which WeasyPrint does not have.  An invisible WORD JOINER
    between the letters of each word with wide (Korean) letters forbids those breaks and
    leaves the spaces as the places to break; it prints nothing and is not part of the PDF's
    text (search and copy still find the plain words).  Latin words are left alone, so they
    can still be hyphenated.  (A nowrap span per word does the same but made the report a third
    slower: WeasyPrint lays out every inline box.)"""
    return " ".join(WORD_JOINER.join(word) if any(_is_wide(letter) for letter in word) else word
                    for word in str(text or "").split(" "))


def _is_wide(letter):
    return unicodedata.east_asian_width(letter) in ("W", "F")


@lru_cache(maxsize=4)
def _stylesheet(path):
    """The parsed stylesheet, once per process: it does not change while the app runs."""
    return CSS(filename=path)


def report_html(event, frozen):
    """The report as HTML in the current locale (also handy to look at in a browser)."""
    return render_template(
        "exports/report.html",
        **TEMPLATE_HELPERS,
        method_labels=METHOD_LABELS,
        weights_text=weights_text,
        keep_words=keep_words,
        event=event,
        frozen=frozen,
        categories=frozen.categories,
        awards=event_awards(frozen.categories),
        frozen_when=format_seoul_datetime(frozen.frozen_at),
        published_when=format_seoul_datetime(frozen.published_at) if frozen.published_at else None,
    )


def results_pdf(event, frozen):
    """The report of the event's frozen results (``voting.results.bundle.Frozen``) as PDF bytes."""
    stylesheet = _stylesheet(os.path.join(current_app.static_folder, *STYLESHEET))
    return HTML(string=report_html(event, frozen)).write_pdf(stylesheets=[stylesheet])
