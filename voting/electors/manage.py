"""Organizer pages of the roll (명부): import, list."""
import re
from dataclasses import dataclass

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _
from jinja2 import TemplateNotFound
from sqlalchemy import func, select

from voting.accounts.models import Role, VotingGroup
from voting.electors import roll as roll_operations
from voting.electors.manage_forms import RollSearchForm, RollUploadForm
from voting.electors.models import Elector, ElectorKind, RollEntry
from voting.events.models import Event
from voting.events.operations import EventLocked, NotAllowed
from voting.extensions import db
from voting.outcomes import REFUSED, attempt
from voting.security import roles_required

bp = Blueprint("roll", __name__, url_prefix="/manage")
organizer_only = roles_required(Role.ORGANIZER)
PAGE_SIZE = 100
LAST4 = re.compile(r"[0-9]{4}")
# Made by the personal links' area, when it is there: one cell of actions per entry (given ``entry``, ``row``, ``event``).
ENTRY_ACTIONS_TEMPLATE = "links/_roll_actions.html"


@dataclass(frozen=True)
class RollRow:
    """One line of the listing: the entry, its elector, whether an account has claimed it."""

    entry: RollEntry
    elector_id: int | None
    claimed: bool


def _search_terms(form):
    """(name part, last four digits) of the search box; the form's field says what is wrong."""
    name_words, last4 = [], None
    for word in (form.q.data or "").split():
        if LAST4.fullmatch(word):
            last4 = word
        elif word.isdigit():
            form.q.errors = list(form.q.errors) + [_("Type exactly the last four digits of the mobile number.")]
            return None
        else:
            name_words.append(word)
    return " ".join(name_words), last4


def _conditions(event_id, terms):
    conditions = [RollEntry.event_id == event_id]
    if terms is None:
        return conditions
    name, last4 = terms
    if last4:
        conditions.append(RollEntry.phone_last4 == last4)
    if name:
        conditions.append(RollEntry.name.contains(name, autoescape=True))
    return conditions


def _counts(event_id):
    by_group = {group.value: 0 for group in VotingGroup}
    by_group.update({
        group.value: number for group, number in db.session.execute(
            select(RollEntry.group, func.count()).where(RollEntry.event_id == event_id).group_by(RollEntry.group)
        )
    })
    claimed = db.session.scalar(
        select(func.count()).select_from(Elector)
        .where(Elector.event_id == event_id, Elector.kind == ElectorKind.ROLL, Elector.user_id.is_not(None))
    )
    return {"total": sum(by_group.values()), "by_group": by_group, "claimed": claimed}


def _page_number():
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _listing(event_id, terms, page):
    conditions = _conditions(event_id, terms)
    found = db.session.scalar(select(func.count()).select_from(RollEntry).where(*conditions))
    pages = max(1, -(-found // PAGE_SIZE))
    page = min(page, pages)
    rows = [
        RollRow(entry, elector_id, user_id is not None)
        for entry, elector_id, user_id in db.session.execute(
            select(RollEntry, Elector.id, Elector.user_id)
            .outerjoin(Elector, Elector.roll_entry_id == RollEntry.id)
            .where(*conditions)
            .order_by(RollEntry.name, RollEntry.id)
            .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
        )
    ]
    return {"rows": rows, "found": found, "page": page, "pages": pages}


def _entry_actions_template():
    try:
        current_app.jinja_env.get_template(ENTRY_ACTIONS_TEMPLATE)
    except TemplateNotFound:
        return None
    return ENTRY_ACTIONS_TEMPLATE


def _why_frozen(event):
    """Why the roll cannot change now, or None when it can."""
    try:
        roll_operations.ensure_roll_can_change(event)
    except EventLocked:
        return _("The results of this event are frozen; this can no longer change.")
    except NotAllowed as exc:
        return exc.message
    return None


@bp.route("/events/<int:event_id>/roll", methods=["GET", "POST"])
@organizer_only
def show_roll(event_id):
    """The roll: counts, a search, a page of 100 entries, and the upload of a CSV file with its report."""
    event = db.get_or_404(Event, event_id)
    upload = RollUploadForm()
    report = None
    if upload.validate_on_submit():
        raw = upload.file.data.stream.read(roll_operations.ROLL_MAX_BYTES + 1)
        result = attempt(lambda: roll_operations.import_roll(event, raw), field=upload.file)
        if result is not REFUSED:
            report = result
    search = RollSearchForm(formdata=request.args)
    terms = _search_terms(search) if search.validate() else None
    return render_template(
        "roll/list.html", event=event, upload=upload, report=report, search=search,
        searching=bool(search.q.data) and terms is not None, counts=_counts(event.id),
        listing=_listing(event.id, terms, _page_number()), frozen_reason=_why_frozen(event),
        entry_actions=_entry_actions_template(), columns=roll_operations.COLUMNS,
        korean_columns=roll_operations.KOREAN_COLUMNS,
    )
