"""Organizer pages for events, categories, fields and departments."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from voting.accounts.forms import EmptyForm
from voting.accounts.models import Role
from voting.events import operations
from voting.events.forms import BLANK_ROWS, CategoryForm, EventForm, EventStateForm, NameForm
from voting.events.models import Category, Department, Event, EventState, Field
from voting.extensions import db
from voting.navigation import redirect_back
from voting.i18n import to_seoul
from voting.nominations.models import Nomination
from voting.outcomes import REFUSED, attempt
from voting.sealing import mail as sealing_mail
from voting.sealing import operations as sealing
from voting.security import roles_required

bp = Blueprint("events", __name__, url_prefix="/manage")
organizer_only = roles_required(Role.ORGANIZER)


@bp.route("/events")
@organizer_only
def list_events():
    events = db.session.scalars(select(Event).order_by(Event.year.desc(), Event.id.desc())).all()
    return render_template("events/list.html", events=events)


@bp.route("/events/new", methods=["GET", "POST"])
@organizer_only
def new_event():
    form = EventForm()
    if form.validate_on_submit():
        event = operations.create_event(form)
        db.session.commit()
        flash(_("The event was created as a draft. Add categories and fields next."), "success")
        return redirect(url_for("events.show_event", event_id=event.id))
    return render_template("events/event_form.html", form=form, event=None)


@bp.route("/events/<int:event_id>")
@organizer_only
def show_event(event_id):
    event = db.get_or_404(Event, event_id)
    counts = {
        state.value: number
        for state, number in db.session.execute(
            select(Nomination.state, func.count(Nomination.id))
            .where(Nomination.event_id == event.id)
            .group_by(Nomination.state)
        )
    }
    state_form = EventStateForm(state=event.state.value)
    return render_template(
        "events/show.html", event=event, counts=counts, state_form=state_form, delete_form=EmptyForm()
    )


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@organizer_only
def edit_event(event_id):
    event = db.get_or_404(Event, event_id)
    form = EventForm(obj=event)
    form.eligibility_locked = operations.eligibility_lock(event)
    if not form.is_submitted():
        for name in operations.EVENT_WINDOW_FIELDS:
            getattr(form, name).data = to_seoul(getattr(event, name)).replace(tzinfo=None)
    if form.validate_on_submit():
        refused = attempt(lambda: operations.update_event(event, form), _("The event was saved."))
        if refused is not REFUSED:
            if refused:
                flash(_("Who may vote was not changed; the rest was saved. %(reason)s", reason=refused), "error")
            return redirect(url_for("events.show_event", event_id=event.id))
    return render_template("events/event_form.html", form=form, event=event)


@bp.route("/events/<int:event_id>/state", methods=["POST"])
@organizer_only
def change_state(event_id):
    event = db.get_or_404(Event, event_id)
    form = EventStateForm()
    if form.validate_on_submit():
        box = attempt(lambda: sealing.move_event(event, EventState(form.state.data), current_user), _("The event's state was changed."))
        if box not in (None, REFUSED):
            sealing_mail.commitment_made(event, box)
            flash(_("The ballot box is closed. Its commitment, mailed to the trustees: %(commitment)s", commitment=box.commitment), "info")
    else:
        flash(_("Choose a valid state."), "error")
    return redirect_back("events.show_event", event_id=event.id)


def _category_form(category=None):
    form = CategoryForm(obj=category)
    if not form.is_submitted():
        if category is None:
            form.weight_resident.data, form.weight_official.data, form.weight_judges.data = 40, 20, 40
            form.max_approvals.data = 1
            form.kind.data = "practice"
            chain = ["judges", "resident", "official"]
        else:
            form.kind.data = category.kind.value
            form.vote_normalization.data = category.vote_normalization.value
            form.judge_aggregation.data = category.judge_aggregation.value
            chain = category.tie_break_chain
        for field, key in zip((form.tie_break_1, form.tie_break_2, form.tie_break_3), chain + ["", ""]):
            field.data = key
        for rows in (form.tiers, form.criteria):
            if len(rows.entries) == 1 and rows.entries[0].form.is_blank():
                rows.entries.clear()
                rows.last_index = -1
            for _blank in range(BLANK_ROWS):
                rows.append_entry()
    return form


def _save_category(event, form, category):
    saved = attempt(lambda: operations.save_category(event, form, category), field=form.name)
    if saved is REFUSED:
        return None
    flash(_("The category %(name)s was saved.", name=saved.name), "success")
    return redirect(url_for("events.show_event", event_id=event.id))


@bp.route("/events/<int:event_id>/categories/new", methods=["GET", "POST"])
@organizer_only
def new_category(event_id):
    event = db.get_or_404(Event, event_id)
    form = _category_form()
    if form.validate_on_submit():
        response = _save_category(event, form, None)
        if response:
            return response
    return render_template("events/category_form.html", form=form, event=event, category=None)


@bp.route("/categories/<int:category_id>/edit", methods=["GET", "POST"])
@organizer_only
def edit_category(category_id):
    category = db.get_or_404(Category, category_id)
    form = _category_form(category)
    if form.validate_on_submit():
        response = _save_category(category.event, form, category)
        if response:
            return response
    return render_template("events/category_form.html", form=form, event=category.event, category=category)


@bp.route("/categories/<int:category_id>/delete", methods=["POST"])
@organizer_only
def delete_category(category_id):
    category = db.get_or_404(Category, category_id)
    event_id = category.event_id
    if EmptyForm().validate_on_submit():
        attempt(lambda: operations.delete_category(category), _("The category was deleted."))
    return redirect(url_for("events.show_event", event_id=event_id))


@bp.route("/events/<int:event_id>/fields", methods=["GET", "POST"])
@organizer_only
def fields(event_id):
    event = db.get_or_404(Event, event_id)
    form = NameForm()
    if form.validate_on_submit():
        added = _("%(name)s was added.", name=form.name.data)
        if attempt(lambda: operations.add_field(event, form.name.data), added, field=form.name) is not REFUSED:
            return redirect(url_for("events.fields", event_id=event.id))
    return render_template("events/fields.html", event=event, form=form, delete_form=EmptyForm())


@bp.route("/fields/<int:field_id>/delete", methods=["POST"])
@organizer_only
def delete_field(field_id):
    field = db.get_or_404(Field, field_id)
    event_id = field.event_id
    if EmptyForm().validate_on_submit():
        attempt(lambda: operations.delete_field(field), _("The field was deleted."))
    return redirect(url_for("events.fields", event_id=event_id))


@bp.route("/departments", methods=["GET", "POST"])
@organizer_only
def departments():
    form = NameForm()
    if form.validate_on_submit():
        added = _("%(name)s was added.", name=form.name.data)
        if attempt(lambda: operations.add_department(form.name.data), added, field=form.name) is not REFUSED:
            return redirect(url_for("events.departments"))
    items = db.session.scalars(select(Department).order_by(Department.name)).all()
    return render_template("events/departments.html", departments=items, form=form, delete_form=EmptyForm())


@bp.route("/departments/<int:department_id>/delete", methods=["POST"])
@organizer_only
def delete_department(department_id):
    department = db.get_or_404(Department, department_id)
    if EmptyForm().validate_on_submit():
        attempt(lambda: operations.delete_department(department), _("The department was deleted."))
    return redirect(url_for("events.departments"))
