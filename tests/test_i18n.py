"""Korean by default, English on request: the catalog, the language switch, dates and form errors."""
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from babel.support import Translations

from voting.events.models import Event
from voting.extensions import db

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = PROJECT_ROOT / "voting" / "translations"
KO_PO = TRANSLATIONS / "ko" / "LC_MESSAGES" / "messages.po"
KO_MO = KO_PO.with_suffix(".mo")

# Python's %-format placeholders, as Babel's python-format check reads them, plus the literal %%.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrs%]")
HANGUL = re.compile(r"[\uac00-\ud7a3]")
HTML_LANG = re.compile(r'<html lang="([^"]+)"')
NAV = re.compile(r'<nav class="wrap site-nav".*?</nav>', re.S)


def _strings(value):
    """A message id or string is a str, or a tuple of them for plural forms."""
    return [value] if isinstance(value, str) else [s for s in value]


def _placeholders(text):
    return set(PLACEHOLDER.findall(text))


@pytest.fixture(scope="module")
def ko_catalog():
    with KO_PO.open("rb") as handle:
        return read_po(handle, locale="ko")


@pytest.fixture(scope="module")
def ko(ko_catalog):
    """The Korean text of an English msgid, as the .po file has it."""

    def translate(msgid):
        message = ko_catalog.get(msgid)
        assert message is not None and message.string, f"no Korean for {msgid!r}"
        return message.string

    return translate


@pytest.fixture(scope="module")
def extracted_template(tmp_path_factory):
    """Runs Babel's extractor with the project's babel.cfg, as `make extract-messages` does."""
    output = tmp_path_factory.mktemp("i18n") / "messages.pot"
    command = [
        sys.executable, "-c", "from babel.messages.frontend import main; main()", "-q",
        "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext",
        "--no-location", "-o", str(output), ".",
    ]
    subprocess.run(command, cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=120)
    with output.open("rb") as handle:
        return read_po(handle)


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, f"{url} gave {response.status_code}"
    return response.get_data(as_text=True)


def html_lang(html):
    match = HTML_LANG.search(html)
    assert match, "no <html lang=...>"
    return match.group(1)


def navigation(html):
    match = NAV.search(html)
    assert match, "no main navigation on the page"
    return match.group(0)


def switch_language(web, lang, next_url="/"):
    response = web.post("/language", {"lang": lang, "next": next_url}, form_url=next_url)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(next_url)


# --- the catalog -----------------------------------------------------------------------------


def test_every_extracted_message_has_a_korean_translation(extracted_template, ko_catalog):
    assert len([m for m in extracted_template if m.id]) > 100, "the extractor found almost nothing"
    untranslated, fuzzy = [], []
    for message in extracted_template:
        if not message.id:
            continue
        translated = ko_catalog.get(message.id, message.context)
        if translated is None or not all(s.strip() for s in _strings(translated.string)):
            untranslated.append(message.id)
        elif translated.fuzzy:
            fuzzy.append(message.id)
    assert not untranslated, "run `make extract-messages` and translate: " + repr(untranslated)
    assert not fuzzy, "fuzzy translations are not used; review them: " + repr(fuzzy)


def test_the_korean_catalog_is_not_fuzzy_and_has_a_real_header(ko_catalog):
    assert not ko_catalog.fuzzy
    assert str(ko_catalog.locale) == "ko"
    header = dict(ko_catalog.mime_headers)
    assert header["Project-Id-Version"].startswith("voting")
    for value in header.values():
        assert "PROJECT" not in value and "ORGANIZATION" not in value and "EMAIL@ADDRESS" not in value


def test_placeholders_are_kept_in_every_translation(ko_catalog):
    differing = []
    for message in ko_catalog:
        if not message.id or not message.string:
            continue
        ids, strings = _strings(message.id), _strings(message.string)
        expected = set().union(*(_placeholders(s) for s in ids))
        for string in strings:
            if _placeholders(string) != expected:
                differing.append((message.id, string))
        if message.python_format:
            for string in strings:
                string % {name: 1 for name in re.findall(r"%\((\w+)\)", string)}  # formats without error
    assert not differing, differing


def test_the_compiled_catalog_matches_the_po_file(ko_catalog):
    assert KO_MO.exists(), "run `make translations` to compile the catalog"
    with KO_MO.open("rb") as handle:
        compiled = Translations(handle)
    stale = [m.id for m in ko_catalog if m.id and isinstance(m.id, str) and compiled.gettext(m.id) != m.string]
    assert not stale, "the .mo is older than the .po; run `make translations`: " + repr(stale[:5])


# --- the page language -------------------------------------------------------------------------


def test_pages_are_korean_by_default_and_switch_to_english_and_back(client, web, ko):
    html = page(client, "/")
    assert html_lang(html) == "ko"
    nav = navigation(html)
    for english in ("Events", "Log in", "Sign up"):
        assert ko(english) in nav
        assert HANGUL.search(ko(english))
        assert f">{english}<" not in nav
    assert ko("Sharing Party Vote") in html

    switch_language(web, "en")
    html = page(client, "/")
    assert html_lang(html) == "en"
    nav = navigation(html)
    for english in ("Events", "Log in", "Sign up"):
        assert f">{english}<" in nav
    assert not HANGUL.search(nav)
    assert "Sharing Party Vote" in html

    switch_language(web, "ko")
    html = page(client, "/")
    assert html_lang(html) == "ko"
    assert ko("Log in") in navigation(html)


def test_the_language_switch_returns_to_the_page_it_was_used_on(client, web, make_event):
    event = make_event()
    switch_language(web, "en", next_url=f"/events/{event.id}")
    assert html_lang(page(client, f"/events/{event.id}")) == "en"


def test_an_unknown_language_keeps_korean(client, web):
    web.post("/language", {"lang": "fr", "next": "/"}, form_url="/")
    assert html_lang(page(client, "/")) == "ko"


def test_the_language_switch_needs_a_csrf_token(client):
    response = client.post("/language", data={"lang": "en", "next": "/"})
    assert response.status_code == 400
    assert html_lang(page(client, "/")) == "ko"


# --- dates in Asia/Seoul time ----------------------------------------------------------------


def _utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def december_event(app, make_event):
    """An open event whose voting runs 2019-12-13 14:00 to 2019-12-14 00:30 in Seoul (UTC+9)."""
    snapshot = make_event(state="open")
    with app.app_context():
        event = db.session.get(Event, snapshot.id)
        event.nominate_opens_at, event.nominate_closes_at = _utc(2019, 11, 1, 0, 0), _utc(2019, 11, 30, 14, 59)
        event.vote_opens_at, event.vote_closes_at = _utc(2019, 12, 13, 5, 0), _utc(2019, 12, 13, 15, 30)
        event.judge_opens_at, event.judge_closes_at = _utc(2019, 12, 13, 5, 0), _utc(2019, 12, 13, 9, 0)
        db.session.commit()
    return snapshot


def _fact(html, label):
    """The text after a <dt> label in a facts list."""
    match = re.search(rf"<dt>{re.escape(label)}</dt><dd>(.*?)</dd>", html, re.S)
    assert match, f"no {label!r} on the page"
    return match.group(1)


def test_event_dates_are_korean_style_in_seoul_time(client, december_event, ko):
    html = page(client, f"/events/{december_event.id}")
    voting = _fact(html, ko("Voting"))
    assert "2019년 12월 13일" in voting
    assert "오후 2:00" in voting
    # 15:30 UTC on the 13th is already the 14th in Seoul.
    assert "2019년 12월 14일" in voting and "오전 12:30" in voting
    assert "2019년 11월 1일" in _fact(html, ko("Nominating")) and "오전 9:00" in _fact(html, ko("Nominating"))
    assert "5:00" not in voting and "PM" not in voting


def test_event_dates_are_english_style_after_switching(client, web, december_event):
    switch_language(web, "en", next_url=f"/events/{december_event.id}")
    html = page(client, f"/events/{december_event.id}")
    voting = _fact(html, "Voting")
    assert "Dec 13, 2019" in voting and "2:00 PM" in voting
    assert "Dec 14, 2019" in voting and "12:30 AM" in voting
    assert not HANGUL.search(voting)


# --- form errors ------------------------------------------------------------------------------


def _signup_without_name(web):
    response = web.post(
        "/signup",
        {"name": "", "email": "no-name@test.example", "password": "long-enough-pw", "password_confirm": "long-enough-pw"},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    match = re.search(r'<p class="error" id="name-error">(.*?)</p>', html, re.S)
    assert match, "no error under the name field"
    return html, match.group(1).strip()


def test_form_errors_are_korean_by_default(web, ko):
    html, error = _signup_without_name(web)
    assert error == ko("This field is required.")
    assert HANGUL.search(error)
    assert ko("Please correct the marked fields. Nothing was saved yet.") in html


def test_form_errors_are_english_after_switching(web):
    switch_language(web, "en", next_url="/signup")
    html, error = _signup_without_name(web)
    assert error == "This field is required."
    assert "Please correct the marked fields. Nothing was saved yet." in html
