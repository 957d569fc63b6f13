"""Organizer pages for the vote: code batches, on-site sessions, paper totals, turnout, audit."""
from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from voting.accounts.forms import EmptyForm
from voting.accounts.models import Role, VotingGroup
from voting.audit.models import AuditEntry
from voting.ballots import operations
from voting.ballots.cards import code_cards_pdf
from voting.ballots.forms import CodeBatchForm, OnsiteOpenForm, paper_totals_form
from voting.ballots.models import OnsiteCodeBatch
from voting.events.models import Category, Event
from voting.extensions import db
from voting.navigation import redirect_back
from voting.outcomes import REFUSED, attempt
from voting.security import roles_required

bp = Blueprint("voting_admin", __name__, url_prefix="/manage")
organizer_only = roles_required(Role.ORGANIZER)
AUDIT_PAGE_SIZE = 200


@bp.route("/events/<int:event_id>/codes", methods=["GET", "POST"])
@organizer_only
def code_batches(event_id):
    event = db.get_or_404(Event, event_id)
    form = CodeBatchForm()
    if form.validate_on_submit():

        def create_and_print():
            batch, plain = operations.create_code_batch(event, form.group.data, form.size.data, form.label.data, current_user)
            # Printed before the commit: no batch is kept whose cards were never made.
            return batch, code_cards_pdf(event, batch, plain)

        created = attempt(create_and_print)
        if created is not REFUSED:
            batch, pdf = created
            # The codes exist only in this response: it must not be cached anywhere.
            return Response(
                pdf,
                mimetype="application/pdf",
                headers={
                    "Content-Disposition": f'attachment; filename="onsite-codes-event{event.id}-batch{batch.id}.pdf"',
                    "Cache-Control": "no-store",
                },
            )
    batches = db.session.scalars(
        select(OnsiteCodeBatch).where(OnsiteCodeBatch.event_id == event.id).order_by(OnsiteCodeBatch.id.desc())
    ).all()
    return render_template("ballots/manage_codes.html", event=event, form=form, batches=batches, action_form=EmptyForm())


@bp.route("/code-batches/<int:batch_id>/revoke", methods=["POST"])
@organizer_only
def revoke_batch(batch_id):
    batch = db.get_or_404(OnsiteCodeBatch, batch_id)
    attempt(lambda: operations.revoke_code_batch(batch, current_user), _("The batch was revoked; its codes no longer work."))
    return redirect(url_for("voting_admin.code_batches", event_id=batch.event_id))


@bp.route("/events/<int:event_id>/onsite")
@organizer_only
def onsite(event_id):
    event = db.get_or_404(Event, event_id)
    sessions = operations.open_sessions(event.categories)
    return render_template(
        "ballots/manage_onsite.html", event=event, sessions=sessions, open_form=OnsiteOpenForm(), close_form=EmptyForm()
    )


@bp.route("/categories/<int:category_id>/onsite/open", methods=["POST"])
@organizer_only
def open_onsite(category_id):
    category = db.get_or_404(Category, category_id)
    form = OnsiteOpenForm()
    if form.validate_on_submit():
        attempt(
            lambda: operations.open_onsite_voting(category, form.minutes.data, current_user),
            _("On-site voting for %(name)s is open.", name=category.name),
        )
    else:
        for error in form.minutes.errors:
            flash(error, "error")
    return redirect_back("voting_admin.onsite", event_id=category.event_id)


@bp.route("/categories/<int:category_id>/onsite/close", methods=["POST"])
@organizer_only
def close_onsite(category_id):
    category = db.get_or_404(Category, category_id)
    attempt(
        lambda: operations.close_onsite_voting(category, current_user),
        _("On-site voting for %(name)s is closed.", name=category.name),
    )
    return redirect_back("voting_admin.onsite", event_id=category.event_id)


@bp.route("/categories/<int:category_id>/paper/<group>", methods=["GET", "POST"])
@organizer_only
def paper(category_id, group):
    category = db.get_or_404(Category, category_id)
    if group not in {g.value for g in VotingGroup}:
        abort(404)
    finalists = operations.finalists(category)
    form = paper_totals_form(finalists, operations.paper_total(category, group))
    if form.validate_on_submit():
        counts = {n.id: getattr(form, f"count_{n.id}").data for n in finalists}
        saved = attempt(
            lambda: operations.save_paper_totals(category, group, form.ballots.data, counts, current_user),
            _("The paper totals were saved."),
            field=form.ballots,
        )
        if saved is not REFUSED:
            return redirect_back("voting_admin.turnout", event_id=category.event_id)
    return render_template(
        "ballots/manage_paper.html", category=category, group=group, form=form, finalists=finalists
    ), 400 if form.errors else 200


@bp.route("/events/<int:event_id>/turnout")
@organizer_only
def turnout(event_id):
    event = db.get_or_404(Event, event_id)
    return render_template("ballots/manage_turnout.html", event=event, counts=operations.turnout(event))


@bp.route("/events/<int:event_id>/audit")
@organizer_only
def audit_log(event_id):
    event = db.get_or_404(Event, event_id)
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.event_id == event.id).order_by(AuditEntry.id.desc()).limit(AUDIT_PAGE_SIZE)
    ).all()
    return render_template("ballots/manage_audit.html", event=event, entries=entries)
