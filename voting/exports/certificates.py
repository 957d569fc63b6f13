"""The certificates (상장) of an event: one A4 page per award of the frozen results.

Who gets which tier in which category comes from the frozen results alone (through
:func:`voting.exports.awards.event_awards`), so a certificate never disagrees with the results
page.  Two things are read live, because they are how a name is printed rather than a result:
a person's affiliation and a practice's department.  The issuer line, the wording, the date and
the seal are the organizer's CertificateTemplate, or defaults in the current locale.

A certificate's number is "제 <event year>-<nn>호", numbered in award order (category order,
best tier first, then rank): the same frozen results always give the same numbers.
"""
import base64
import string
from dataclasses import dataclass
from datetime import date, datetime

from babel.dates import format_date
from flask import current_app, render_template
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from weasyprint import HTML

from voting.events.models import Department
from voting.exports.awards import event_awards
from voting.exports.models import CertificateTemplate
from voting.extensions import db
from voting.i18n import SEOUL
from voting.nominations.models import Nomination

PLACEHOLDERS = ("recipient", "category", "tier", "event")

DEFAULT_WORDING = _l(
    "At {event}, you set an example of residents and officials working together and contributed "
    "greatly to our community. You have been selected for the {tier} in the {category} category, "
    "and this certificate is presented to you."
)

# The largest box the seal or logo is fitted into, in millimetres (it keeps its proportions).
SEAL_BOX = (34.0, 26.0)
# The date as a certificate spells it out: 2019년 12월 13일, December 13, 2019.
DATE_PATTERNS = {"ko": "yyyy년 M월 d일", "en": "MMMM d, yyyy"}


# ---------------------------------------------------------------------------
# The wording and its placeholders


class WordingError(ValueError):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def placeholder_list():
    return ", ".join("{%s}" % name for name in PLACEHOLDERS)


def check_wording(text):
    """Refuses what str.format would choke on or print wrongly: unknown names, stray braces,
    and format specs ({tier:>10}) that an organizer cannot have meant.  {{ and }} print a brace."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise WordingError(_(
            "A brace { or } is not closed. Write placeholders like {recipient}; "
            "for a brace itself write {{ or }}."
        )) from exc
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            shown = "{" + name + ("!" + conversion if conversion else "") + (":" + spec if spec else "") + "}"
            raise WordingError(_("Unknown placeholder %(placeholder)s. You can use %(known)s.",
                                 placeholder=shown, known=placeholder_list()))


def fill_wording(text, *, recipient, category, tier, event):
    return text.format(recipient=recipient, category=category, tier=tier, event=event)


# ---------------------------------------------------------------------------
# What the organizer set, or the defaults


def today_in_seoul():
    return datetime.now(SEOUL).date()


def default_award_date(frozen=None):
    """The day the results were frozen (in Seoul), so that the same frozen results print the
    same certificates on any later day; before freezing, today."""
    return frozen.frozen_at.astimezone(SEOUL).date() if frozen is not None else today_in_seoul()


def default_issuer(event):
    return _("%(event)s Organizing Committee", event=event.name)


def certificate_template(event):
    return db.session.scalar(select(CertificateTemplate).where(CertificateTemplate.event_id == event.id))


@dataclass(frozen=True)
class Seal:
    data_uri: str
    width_mm: float
    height_mm: float
    offset_mm: float  # from the end of the issuer's line: a seal overlaps it, a wide logo stands beside it


@dataclass(frozen=True)
class Settings:
    issuer: str
    wording: str
    award_date: date
    seal: Seal | None


def _seal(template):
    if template is None or not template.has_seal:
        return None
    scale = min(SEAL_BOX[0] / template.seal_width, SEAL_BOX[1] / template.seal_height)
    width, height = round(template.seal_width * scale, 2), round(template.seal_height * scale, 2)
    squarish = template.seal_width <= 1.5 * template.seal_height
    encoded = base64.b64encode(template.seal_data).decode("ascii")
    return Seal(f"data:{template.seal_mime_type};base64,{encoded}", width, height,
                round(-0.45 * width, 2) if squarish else 3.0)


def settings_for(event, frozen=None):
    template = certificate_template(event)
    if template is None:
        return Settings(default_issuer(event), str(DEFAULT_WORDING), default_award_date(frozen), None)
    return Settings(template.issuer, template.wording, template.award_date, _seal(template))


# ---------------------------------------------------------------------------
# One certificate per award


@dataclass(frozen=True)
class Recipient:
    name: str               # what {recipient} stands for, printed large
    name_label: str          # 성명 or 팀명
    affiliation: str | None  # a person's affiliation, a practice's department


@dataclass(frozen=True)
class Certificate:
    number: str
    recipient: Recipient
    tier: str
    category: str
    joint: bool
    wording: str


def certificate_number(year, position):
    return _("No. %(year)d-%(position)02d", year=year, position=position)


def category_line(name):
    """"협치 우수사례 부문"; a name that already ends in 부문 stays as it is."""
    return name if name.endswith("부문") else _("%(category)s category", category=name)


def team_name(title):
    return _("“%(title)s” project team", title=title)


def _live_details(finalist_ids):
    """{nomination id: (affiliation, department name)}: how names are printed, read now."""
    rows = db.session.execute(
        select(Nomination.id, Nomination.nominee_affiliation, Department.name)
        .outerjoin(Department, Nomination.department_id == Department.id)
        .where(Nomination.id.in_(finalist_ids))
    )
    return {nomination_id: (affiliation, department) for nomination_id, affiliation, department in rows}


def _recipient(award, details):
    finalist = award.finalist
    affiliation, department = details.get(finalist.id, (None, None))
    if award.category.kind == "person":
        return Recipient(finalist.nominee or finalist.title, _("Full name"), affiliation)
    return Recipient(team_name(finalist.title), _("Team name"), department)


def event_certificates(event, frozen, wording):
    awards = event_awards(frozen.categories)
    details = _live_details([award.finalist.id for award in awards])
    certificates = []
    for position, award in enumerate(awards, start=1):
        recipient = _recipient(award, details)
        certificates.append(Certificate(
            number=certificate_number(event.year, position),
            recipient=recipient,
            tier=award.tier,
            category=award.category.name,
            joint=award.joint,
            wording=fill_wording(wording, recipient=recipient.name, category=award.category.name,
                                 tier=award.tier, event=event.name),
        ))
    return certificates


def sample_certificate(event, wording):
    """A certificate with a placeholder recipient, for before the results are frozen."""
    category = next((c for c in event.categories if c.tiers), None)
    category_name = category.name if category else _("(Category)")
    tier = category.tiers[0].name if category else _("(Award)")
    if category is not None and category.is_person:
        recipient = Recipient(_("(Recipient's name)"), _("Full name"), _("(Affiliation)"))
    else:
        recipient = Recipient(team_name(_("(Project title)")), _("Team name"), _("(Department)"))
    return Certificate(
        number=certificate_number(event.year, 0),
        recipient=recipient,
        tier=tier,
        category=category_name,
        joint=False,
        wording=fill_wording(wording, recipient=recipient.name, category=category_name, tier=tier, event=event.name),
    )


# ---------------------------------------------------------------------------
# The PDF


def wording_size(text):
    """The CSS class that keeps a long wording (up to WORDING_MAX plus long names) on its page."""
    if len(text) > 280:
        return "longer"
    return "long" if len(text) > 160 else ""


def long_date(value):
    locale = str(get_locale() or "ko")
    return format_date(value, DATE_PATTERNS.get(locale, DATE_PATTERNS["ko"]), locale=locale)


def _pdf(event, settings, certificates, *, sample):
    html = render_template(
        "exports/certificates.html",
        event=event,
        settings=settings,
        certificates=certificates,
        sample=sample,
        award_date=long_date(settings.award_date),
        category_line=category_line,
        wording_size=wording_size,
    )
    # Nothing is fetched: the seal is a data URI and the fonts are the system's.
    return HTML(string=html, base_url=current_app.static_folder).write_pdf()


def certificates_pdf(event, frozen):
    """One A4 page per award of the frozen results (a single explaining page when there is none)."""
    settings = settings_for(event, frozen)
    return _pdf(event, settings, event_certificates(event, frozen, settings.wording), sample=False)


def sample_pdf(event):
    """One page with a placeholder recipient, marked as a sample, to check the layout early."""
    settings = settings_for(event)
    return _pdf(event, settings, [sample_certificate(event, settings.wording)], sample=True)
