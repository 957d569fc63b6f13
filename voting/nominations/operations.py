"""Nomination operations. They flush but never commit: the route commits once."""
import secrets

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from voting.database import savepoint, utcnow
from voting.events.models import Category, Department, Event, Field
from voting.events.operations import NotAllowed, ensure_unlocked
from voting.audit import operations as audit
from voting.extensions import db
from voting.nominations.models import CONSENT_VERSION, Nomination, NominationPhoto, NominationState
from voting.nominations.photos import clean_photo


def form_choices(event):
    return {
        "categories": event.categories,
        "fields": event.fields,
        "departments": db.session.scalars(select(Department).order_by(Department.name)).all(),
    }


def _apply_form(nomination, form):
    category = form.selected_category()
    nomination.category = category
    nomination.title = form.title.data
    nomination.summary = form.summary.data
    nomination.description = form.description.data
    nomination.field = db.session.get(Field, form.field_id.data)
    nomination.department = db.session.get(Department, form.department_id.data) if form.department_id.data else None
    if category.is_person:
        nomination.nominee_name = form.nominee_name.data
        nomination.nominee_affiliation = form.nominee_affiliation.data
        if nomination.consent_given_at is None or form.consent_method.data != nomination.consent_method:
            nomination.consent_given_at = utcnow()
            nomination.consent_version = CONSENT_VERSION
        nomination.consent_method = form.consent_method.data or None
    else:
        nomination.nominee_name = nomination.nominee_affiliation = None
        nomination.consent_given_at = nomination.consent_version = nomination.consent_method = None


def _apply_photo(nomination, form):
    """Checks the photo before anything is written, so a bad file loses nothing."""
    upload = form.photo.data
    if upload and getattr(upload, "filename", ""):
        photo = clean_photo(upload.stream, current_app.config["PHOTO_MAX_BYTES"])
        if nomination.photo is None:
            nomination.photo = NominationPhoto(data=b"", mime_type="", width=0, height=0)
        nomination.photo.data = photo.data
        nomination.photo.mime_type = photo.mime_type
        nomination.photo.width, nomination.photo.height = photo.width, photo.height
        nomination.photo.uploaded_at = utcnow()
    elif form.remove_photo.data and nomination.photo is not None:
        nomination.photo = None


class AlreadySubmitted(Exception):
    def __init__(self, nomination):
        super().__init__(nomination.id)
        self.nomination = nomination


def new_submission_key():
    return secrets.token_urlsafe(24)


def _submission_with_key(key):
    return db.session.scalar(select(Nomination).where(Nomination.submission_key == key)) if key else None


def create_nomination(event, user, form):
    """Creates one nomination per submission key, so a double submit cannot make two."""
    ensure_unlocked(event)
    if not user.can_nominate():
        raise NotAllowed(_("Confirm your email address before nominating."))
    if not event.accepts_nominations():
        raise NotAllowed(_("Nominations for this event are not being accepted now."))
    key = (form.submission_key.data or "")[:64] or None
    earlier = _submission_with_key(key)
    if earlier is not None:
        if earlier.nominator_id == user.id:
            raise AlreadySubmitted(earlier)
        key = new_submission_key()  # another account's key: not a double submit of this form
    nomination = Nomination(event=event, nominator=user, state=NominationState.SUBMITTED, submission_key=key)
    _apply_photo(nomination, form)
    _apply_form(nomination, form)
    try:
        with savepoint(db.session):
            db.session.add(nomination)
    except IntegrityError:
        earlier = _submission_with_key(key)
        if earlier is None or earlier.nominator_id != user.id:
            raise
        raise AlreadySubmitted(earlier) from None
    return nomination


def update_nomination(nomination, user, form):
    ensure_unlocked(nomination.event)
    if not nomination.can_edit(user):
        raise NotAllowed(_("This nomination can no longer be changed."))
    _apply_photo(nomination, form)
    _apply_form(nomination, form)
    if nomination.state == NominationState.CHANGES_REQUESTED:
        nomination.state = NominationState.SUBMITTED
    db.session.flush()
    return nomination


def withdraw_nomination(nomination, user):
    ensure_unlocked(nomination.event)
    if not nomination.can_withdraw(user):
        raise NotAllowed(_("This nomination can no longer be withdrawn."))
    nomination.state = NominationState.WITHDRAWN
    db.session.flush()
    return nomination


def screen_nomination(nomination, organizer, decision, note):
    ensure_unlocked(nomination.event)
    if not nomination.can_screen(organizer):
        raise NotAllowed(_("A withdrawn nomination cannot be screened."))
    nomination.state = NominationState(decision)
    nomination.screening_note = note or None
    nomination.screened_by = organizer
    nomination.screened_at = utcnow()
    db.session.flush()
    audit.record(
        "nomination.screen",
        actor=organizer,
        event_id=nomination.event_id,
        details={"nomination_id": nomination.id, "decision": nomination.state.value},
    )
    return nomination


def finalists(event, category_id=None, field_id=None):
    query = (
        select(Nomination)
        .join(Category, Nomination.category_id == Category.id)
        .where(Nomination.event_id == event.id, Nomination.state == NominationState.FINALIST)
        .order_by(Category.position, Category.id, Nomination.title)
    )
    if category_id:
        query = query.where(Nomination.category_id == category_id)
    if field_id:
        query = query.where(Nomination.field_id == field_id)
    return db.session.scalars(query).all()


def public_events():
    from voting.events.models import EventState

    return db.session.scalars(
        select(Event).where(Event.state != EventState.DRAFT).order_by(Event.year.desc(), Event.id.desc())
    ).all()
