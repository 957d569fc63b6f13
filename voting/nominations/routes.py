from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from voting.accounts.forms import EmptyForm
from voting.accounts.models import Role
from voting.events.models import Event
from voting.events.operations import EventLocked, NotAllowed
from voting.extensions import db
from voting.mail import recipient_locale, send_mail
from voting.nominations import operations
from voting.nominations.forms import CONSENT_TEXT, NominationForm, ScreeningForm
from voting.nominations.models import Nomination, NominationState
from voting.nominations.photos import PhotoError
from voting.responses import image_response
from voting.security import roles_required

bp = Blueprint("nominations", __name__)
nominators_only = roles_required(Role.RESIDENT, Role.OFFICIAL)
organizer_only = roles_required(Role.ORGANIZER)

def _nomination_form(event, nomination=None):
    form = NominationForm(obj=nomination, **operations.form_choices(event))
    if nomination is not None and not form.is_submitted():
        form.consent.data = nomination.consent_given_at is not None
    if nomination is None and not form.is_submitted():
        form.submission_key.data = operations.new_submission_key()
        if request.args.get("category", type=int):
            form.category_id.data = request.args.get("category", type=int)
    return form


def _save(form, action):
    """Runs the operation; a bad photo or a refusal leaves everything as it was."""
    try:
        nomination = action()
    except PhotoError as exc:
        db.session.rollback()
        form.photo.errors = list(form.photo.errors) + [exc.message]
    except EventLocked:
        db.session.rollback()
        flash(_("The results of this event are frozen; nominations can no longer change."), "error")
    except NotAllowed as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        return nomination
    return None


@bp.route("/events/<int:event_id>/nominate", methods=["GET", "POST"])
@nominators_only
def nominate(event_id):
    event = db.get_or_404(Event, event_id)
    if not event.can_view(current_user):
        abort(404)
    if not current_user.can_nominate():
        return render_template("nominations/verify_first.html", resend_form=EmptyForm()), 403
    if not event.accepts_nominations():
        return render_template("nominations/closed.html", event=event), 403
    form = _nomination_form(event)
    if form.validate_on_submit():
        try:
            nomination = _save(form, lambda: operations.create_nomination(event, current_user, form))
        except operations.AlreadySubmitted:
            db.session.rollback()
            flash(_("This nomination was already submitted; it was not made twice."), "info")
            return redirect(url_for("nominations.mine"))
        if nomination:
            flash(_("Thank you. Your nomination “%(title)s” was submitted.", title=nomination.title), "success")
            return redirect(url_for("nominations.mine"))
    return render_template("nominations/form.html", form=form, event=event, nomination=None, consent_text=CONSENT_TEXT)


@bp.route("/my/nominations")
@nominators_only
def mine():
    nominations = db.session.scalars(
        select(Nomination).where(Nomination.nominator_id == current_user.id).order_by(Nomination.created_at.desc())
    ).all()
    return render_template("nominations/mine.html", nominations=nominations, withdraw_form=EmptyForm())


@bp.route("/nominations/<int:nomination_id>/edit", methods=["GET", "POST"])
@nominators_only
def edit(nomination_id):
    nomination = db.get_or_404(Nomination, nomination_id)
    if not nomination.is_nominator(current_user):
        abort(403)
    if not nomination.can_edit(current_user):
        flash(_("This nomination can no longer be changed."), "error")
        return redirect(url_for("nominations.mine"))
    form = _nomination_form(nomination.event, nomination)
    if form.validate_on_submit():
        if _save(form, lambda: operations.update_nomination(nomination, current_user, form)):
            flash(_("Your changes were saved."), "success")
            return redirect(url_for("nominations.mine"))
    return render_template(
        "nominations/form.html", form=form, event=nomination.event, nomination=nomination, consent_text=CONSENT_TEXT
    )


@bp.route("/nominations/<int:nomination_id>/withdraw", methods=["POST"])
@nominators_only
def withdraw(nomination_id):
    nomination = db.get_or_404(Nomination, nomination_id)
    if not nomination.is_nominator(current_user):
        abort(403)
    if EmptyForm().validate_on_submit() and _save(
        EmptyForm(), lambda: operations.withdraw_nomination(nomination, current_user)
    ):
        flash(_("The nomination was withdrawn."), "success")
    return redirect(url_for("nominations.mine"))


@bp.route("/nominations/<int:nomination_id>")
def show(nomination_id):
    nomination = db.get_or_404(Nomination, nomination_id)
    if not nomination.can_view(current_user):
        abort(404)
    return render_template("nominations/show.html", nomination=nomination)


@bp.route("/nominations/<int:nomination_id>/photo")
def photo(nomination_id):
    nomination = db.get_or_404(Nomination, nomination_id)
    if not nomination.can_view(current_user) or nomination.photo is None:
        abort(404)
    return image_response(nomination.photo.data, nomination.photo.mime_type, "private, max-age=300")


@bp.route("/manage/events/<int:event_id>/nominations")
@organizer_only
def screening_list(event_id):
    event = db.get_or_404(Event, event_id)
    query = select(Nomination).where(Nomination.event_id == event.id).order_by(Nomination.created_at)
    state = request.args.get("state", "")
    if state in {s.value for s in NominationState}:
        query = query.where(Nomination.state == NominationState(state))
    category_id = request.args.get("category", type=int)
    if category_id:
        query = query.where(Nomination.category_id == category_id)
    nominations = db.session.scalars(query).all()
    return render_template(
        "nominations/screening_list.html",
        event=event,
        nominations=nominations,
        state=state,
        category_id=category_id,
        states=list(NominationState),
    )


SCREENING_MAIL_SUBJECTS = {
    NominationState.FINALIST: _l("Your nomination is a finalist"),
    NominationState.REJECTED: _l("Your nomination was not accepted"),
    NominationState.CHANGES_REQUESTED: _l("Changes are requested to your nomination"),
}


@bp.route("/manage/nominations/<int:nomination_id>/screen", methods=["GET", "POST"])
@organizer_only
def screen(nomination_id):
    nomination = db.get_or_404(Nomination, nomination_id)
    form = ScreeningForm()
    if form.validate_on_submit():
        screened = _save(
            form, lambda: operations.screen_nomination(nomination, current_user, form.decision.data, form.note.data)
        )
        if screened:
            sent = send_mail(
                screened.nominator.email,
                SCREENING_MAIL_SUBJECTS[screened.state],
                "screening",
                locale=recipient_locale(screened.nominator),
                nomination=screened,
                link=url_for("nominations.mine", _external=True),
            )
            flash(_("The decision was saved and the nominator was told by email.") if sent
                  else _("The decision was saved, but the mail to the nominator could not be sent."),
                  "success" if sent else "warning")
            return redirect(url_for("nominations.screening_list", event_id=screened.event_id))
    return render_template("nominations/screen.html", nomination=nomination, form=form)
