"""Judges' pages (their finalists, score sheets, recusals) and the organizers' judging pages."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from voting.accounts.models import Role
from voting.events.models import Category, Event
from voting.extensions import db
from voting.judging import operations
from voting.judging.forms import DRAFT, SUBMIT, AssignmentForm, RecusalForm, ReopenForm, sheet_form
from voting.judging.models import ScoreSheet
from voting.nominations.models import Nomination
from voting.outcomes import REFUSED, attempt
from voting.security import roles_required

bp = Blueprint("judging", __name__)
judges_only = roles_required(Role.JUDGE)
organizer_only = roles_required(Role.ORGANIZER)

SHEET_STATE_LABELS = {
    operations.SUBMITTED: _l("Done"),
    operations.DRAFT: _l("In draft"),
    operations.RECUSED: _l("Recused"),
    operations.MISSING: _l("Not started"),
    operations.UNASSIGNED: _l("Not assigned"),
}


def _render(template, status=200, **context):
    return render_template(template, sheet_labels=SHEET_STATE_LABELS, **context), status


# ---------------------------------------------------------------------------
# Judges


@bp.route("/judging")
@judges_only
def overview():
    return _render("judging/overview.html", events=operations.judge_overview(current_user))


def _assigned_finalist(nomination_id):
    """The finalist, when the signed-in judge is to score it; 404 for what is not a public finalist, else 403."""
    nomination = db.session.scalar(
        select(Nomination).options(joinedload(Nomination.event), joinedload(Nomination.category))
        .where(Nomination.id == nomination_id)
    )
    if nomination is None or not nomination.is_finalist or not nomination.event.is_public:
        abort(404)
    sheet = operations.find_sheet(current_user, nomination)
    if not operations.is_assigned(current_user, nomination) and (sheet is None or not sheet.is_locked):
        abort(403)
    return nomination, sheet


def _sheet_page(nomination, sheet, form=None, recusal_form=None, status=200):
    category = nomination.category
    return _render(
        "judging/sheet.html",
        status,
        nomination=nomination,
        category=category,
        sheet=sheet,
        form=form or sheet_form(category.criteria, sheet, from_request=False),
        recusal_form=recusal_form or RecusalForm(),
        scores={s.criterion_id: s.value for s in sheet.scores} if sheet is not None else {},
        editable=(sheet is None or not sheet.is_locked) and operations.is_assigned(current_user, nomination),
        judging_open=operations.judging_open(nomination.event),
    )


@bp.route("/judging/finalists/<int:nomination_id>", methods=["GET", "POST"])
@judges_only
def sheet(nomination_id):
    nomination, sheet = _assigned_finalist(nomination_id)
    form = sheet_form(nomination.category.criteria, sheet)
    if not form.is_submitted():
        return _sheet_page(nomination, sheet, form)
    action = SUBMIT if request.form.get("action") == SUBMIT else DRAFT
    if not form.validate_for(action):
        return _sheet_page(nomination, sheet, form, status=400)
    done = _("The sheet was submitted. Thank you.") if action == SUBMIT else _("The draft was saved.")
    saved = attempt(
        lambda: operations.save_sheet(current_user, nomination, form.scores(), form.comment.data, submit=action == SUBMIT),
        done,
    )
    if saved is REFUSED:
        return _sheet_page(nomination, operations.find_sheet(current_user, nomination), form, status=409)
    if action == SUBMIT:
        return redirect(url_for("judging.overview", _anchor=f"event-{nomination.event_id}"))
    return redirect(url_for("judging.sheet", nomination_id=nomination.id))


@bp.route("/judging/finalists/<int:nomination_id>/recuse", methods=["POST"])
@judges_only
def recuse(nomination_id):
    nomination, sheet = _assigned_finalist(nomination_id)
    form = RecusalForm()
    if not form.validate_on_submit():
        return _sheet_page(nomination, sheet, recusal_form=form, status=400)
    recused = attempt(
        lambda: operations.recuse_from_finalist(current_user, nomination, form.reason.data),
        _("You recused yourself from %(title)s.", title=nomination.title),
    )
    if recused is REFUSED:
        return _sheet_page(nomination, operations.find_sheet(current_user, nomination), recusal_form=form, status=409)
    return redirect(url_for("judging.overview", _anchor=f"event-{nomination.event_id}"))


# ---------------------------------------------------------------------------
# Organizers


@bp.route("/manage/events/<int:event_id>/judging")
@organizer_only
def progress(event_id):
    event = db.get_or_404(Event, event_id)
    return _render("judging/progress.html", event=event, grids=operations.event_progress(event))


@bp.route("/manage/categories/<int:category_id>/judges", methods=["GET", "POST"])
@organizer_only
def assignments(category_id):
    category = db.get_or_404(Category, category_id)
    grid = operations.category_progress(category)
    form = AssignmentForm(judges=grid.judges, finalists=grid.finalists)
    if form.validate_on_submit():
        saved = attempt(
            lambda: operations.assign_judges(category, form.chosen_pairs()),
            _("The judges of %(category)s were saved.", category=category.name),
        )
        if saved is not REFUSED:
            return redirect(url_for("judging.assignments", category_id=category.id))
        status = 409
    else:
        status = 400 if form.errors else 200
    if form.is_submitted():
        checked = set(form.pairs.data or [])
    else:
        checked = {f"{j}:{n}" for j, n in operations.assignment_pairs(category, grid.finalists, [j.id for j in grid.judges])}
    return _render("judging/assignments.html", status, category=category, grid=grid, form=form, checked=checked)


@bp.route("/manage/categories/<int:category_id>/judges/everyone", methods=["POST"])
@organizer_only
def assign_everyone(category_id):
    category = db.get_or_404(Category, category_id)
    changed = attempt(lambda: operations.assign_everyone(category))
    if changed is True:
        flash(_("Every judge now judges every finalist of %(category)s.", category=category.name), "success")
    elif changed is False:
        flash(_("Every judge already judges every finalist of %(category)s.", category=category.name), "info")
    return redirect(url_for("judging.assignments", category_id=category.id))


@bp.route("/manage/sheets/<int:sheet_id>/reopen", methods=["GET", "POST"])
@organizer_only
def reopen(sheet_id):
    sheet = db.get_or_404(ScoreSheet, sheet_id)
    nomination = db.session.get(Nomination, sheet.nomination_id)
    form = ReopenForm()
    status = 200
    if form.validate_on_submit():
        reopened = attempt(
            lambda: operations.reopen_sheet(sheet, form.reason.data),
            _("The sheet was reopened; the judge can change it again."),
        )
        if reopened is not REFUSED:
            return redirect(url_for("judging.progress", event_id=nomination.event_id))
        status = 409
    elif form.errors:
        status = 400
    return _render("judging/reopen.html", status, sheet=db.session.get(ScoreSheet, sheet_id), nomination=nomination, form=form)
