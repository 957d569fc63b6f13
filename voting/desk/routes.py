"""The check-in desk (현장 접수), for staff (행사 도우미): find the elector, bind a card.

Staff reach an elector's page only through the desk itself (a roll search or a phone
check made in the same browser session), so the desk cannot be used to browse the roll
by numbering through electors. Every page is marked no-store: it shows personal data.
"""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse_many

from voting.accounts.models import Role
from voting.database import utcnow
from voting.desk import operations
from voting.desk.forms import BindCardForm, CodeCheckForm, RollSearchForm, WalkInForm
from voting.electors import challenges
from voting.electors.challenges import CodeRefused
from voting.electors.models import EligibilityMode, Elector
from voting.events.models import Event
from voting.events.operations import EventLocked, NotAllowed
from voting.extensions import db, limiter
from voting.identity import InvalidPhone, parse_phone
from voting.security import roles_required
from voting.sms import SmsNotSent, send_sms

bp = Blueprint("desk", __name__, url_prefix="/desk")
desk_only = roles_required(Role.STAFF, Role.ORGANIZER)

FOUND_KEY = "desk_found"  # ids of the electors this browser's desk found, the newest last
FOUND_LIMIT = 30
WALK_IN_KEY = "desk_walk_in"  # {"event_id", "challenge_id"}: the phone check under way


@bp.after_request
def _not_cached(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _frozen_message():
    return _("The results of this event are frozen: the desk can no longer register anyone.")


def _desk_event(event_id):
    event = db.get_or_404(Event, event_id)
    if not event.is_public:
        abort(404)
    return event


def _remember(*elector_ids):
    found = [i for i in session.get(FOUND_KEY, []) if i not in elector_ids]
    session[FOUND_KEY] = (found + list(elector_ids))[-FOUND_LIMIT:]


def _found_elector(event, elector_id):
    """The elector, if this desk found it (404 otherwise, as for an elector of another event)."""
    if elector_id not in session.get(FOUND_KEY, []):
        abort(404)
    elector = db.session.get(Elector, elector_id)
    if elector is None or elector.event_id != event.id:
        abort(404)
    return elector


def _desk_state(event):
    """None when the desk works for this event, else the message that says why not."""
    try:
        operations.ensure_desk_works(event)
    except EventLocked:
        return _frozen_message()
    except NotAllowed as exc:
        return exc.message
    return None


def _event_page(event, *, search_form=None, walk_in_form=None, results=None, status=200):
    return render_template(
        "desk/event.html",
        event=event,
        closed_message=_desk_state(event),
        roll=event.eligibility == EligibilityMode.ROLL,
        search_form=search_form or RollSearchForm(formdata=None),
        walk_in_form=walk_in_form or WalkInForm(formdata=None),
        results=results,
    ), status


def _sms_limits():
    config = current_app.config
    return parse_many(config["SMS_PHONE_RATE_LIMIT"]), parse_many(config["SMS_ADDRESS_RATE_LIMIT"])


def _take_sms_allowance(phone):
    """Counts one code sent to this phone from this address; False when either is over its limit.

    The very counters of the resident's own phone page (voting/electors/routes.py: Flask-Limiter
    shared limits "sms-phone", keyed by the phone's HMAC, and "sms-address"), so that a phone
    gets at most SMS_PHONE_RATE_LIMIT codes whichever page asks, and one address sends at most
    SMS_ADDRESS_RATE_LIMIT. Counted here rather than by a decorator: only once the number is
    known to be a phone, and the refusal is said next to the field.
    """
    if not limiter.enabled:
        return True
    per_phone, per_address = _sms_limits()
    prefix = [current_app.config["RATELIMIT_KEY_PREFIX"]] if current_app.config.get("RATELIMIT_KEY_PREFIX") else []
    checks = [(item, [*prefix, phone.digest, "sms-phone"]) for item in per_phone]
    checks += [(item, [*prefix, get_remote_address(), "sms-address"]) for item in per_address]
    strategy = limiter.limiter
    if not all(strategy.test(item, *keys) for item, keys in checks):
        return False
    for item, keys in checks:
        strategy.hit(item, *keys)
    return True


def _send_desk_code(phone, code, event):
    """Like voting.electors.challenges.send_code, but worded for the desk: the person reads the
    code out to the staff, so it cannot say "tell no one". In the default language (Korean),
    whatever the staff's own page language. Raises SmsNotSent."""
    minutes = current_app.config["SMS_CODE_MAX_AGE"] // 60
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        text = _("[%(event)s] Check-in code: %(code)s. Read it out only to the staff at the check-in desk. "
                 "It is valid for %(minutes)d minutes.", event=event.name, code=code, minutes=minutes)
    send_sms(phone, text)


@bp.route("")
@desk_only
def index():
    return render_template("desk/index.html", events=operations.desk_events())


@bp.route("/events/<int:event_id>")
@desk_only
def event_desk(event_id):
    return _event_page(_desk_event(event_id))


@bp.route("/events/<int:event_id>/search", methods=["POST"])
@desk_only
def search(event_id):
    event = _desk_event(event_id)
    form = RollSearchForm()
    if not form.validate_on_submit():
        return _event_page(event, search_form=form, status=400)
    try:
        results = operations.search_roll(event, form.name.data, form.last4.data)
    except EventLocked:
        db.session.rollback()
        return _event_page(event, status=409)
    except NotAllowed as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _event_page(event, search_form=form, status=409)
    db.session.commit()
    _remember(*[found.elector_id for found in results])
    return _event_page(event, search_form=form, results=results)


@bp.route("/events/<int:event_id>/walk-in", methods=["POST"])
@desk_only
def walk_in(event_id):
    event = _desk_event(event_id)
    form = WalkInForm()
    if not form.validate_on_submit():
        return _event_page(event, walk_in_form=form, status=400)
    try:
        phone = parse_phone(form.phone.data)
    except InvalidPhone:
        form.phone.errors = list(form.phone.errors) + [
            _("This is not a Korean mobile phone number. Check the number, e.g. 010-1234-5678.")]
        return _event_page(event, walk_in_form=form, status=400)
    refused = _desk_state(event)
    if refused is not None:
        form.phone.errors = list(form.phone.errors) + [refused]
        return _event_page(event, walk_in_form=form, status=409)
    if not _take_sms_allowance(phone):
        form.phone.errors = list(form.phone.errors) + [
            _("Too many codes were sent to this phone or from this desk just now. Wait a few minutes, then try again.")]
        return _event_page(event, walk_in_form=form, status=429)
    try:
        challenge, code = operations.start_walk_in(event, phone, current_user)
    except (EventLocked, NotAllowed):
        db.session.rollback()
        return _event_page(event, walk_in_form=form, status=409)
    db.session.commit()  # before sending: a failed send loses nothing
    session[WALK_IN_KEY] = {"event_id": event.id, "challenge_id": challenge.id}
    try:
        _send_desk_code(phone, code, event)
    except SmsNotSent:
        current_app.logger.warning("desk: the SMS code for event %s could not be sent", event.id)
        session.pop(WALK_IN_KEY, None)
        form.phone.errors = list(form.phone.errors) + [
            _("The text message could not be sent. Check the number and try again in a moment; "
              "if it keeps failing, tell the organizers. Nothing was registered.")]
        return _event_page(event, walk_in_form=form, status=503)
    # An anchor of its own: the browser would keep the form's (#walk-in) across the redirect.
    return redirect(url_for("desk.walk_in_code", event_id=event.id, _anchor="main"))


def _walk_in_challenge(event):
    under_way = session.get(WALK_IN_KEY) or {}
    if under_way.get("event_id") != event.id:
        return None
    return challenges.find_challenge(under_way.get("challenge_id"), event, "desk", user=current_user)


@bp.route("/events/<int:event_id>/walk-in/code", methods=["GET", "POST"])
@desk_only
def walk_in_code(event_id):
    event = _desk_event(event_id)
    challenge = _walk_in_challenge(event)
    if challenge is None:
        flash(_("Type the person's phone number first; we then send the code."), "info")
        return redirect(url_for("desk.event_desk", event_id=event.id))
    form = CodeCheckForm()
    status = 200
    if form.is_submitted() and not form.validate():
        status = 400
    elif form.is_submitted():
        try:
            found = operations.finish_walk_in(event, challenge, form.code.data)
        except CodeRefused as exc:
            db.session.commit()  # the wrong try counts
            form.code.errors = list(form.code.errors) + [exc.message]
            status = 400
        except operations.NotOnRoll as exc:
            db.session.commit()  # the code is spent
            session.pop(WALK_IN_KEY, None)
            flash(exc.message, "error")
            return redirect(url_for("desk.event_desk", event_id=event.id))
        except EventLocked:
            db.session.rollback()
            flash(_frozen_message(), "error")
            return redirect(url_for("desk.event_desk", event_id=event.id))
        except NotAllowed as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for("desk.event_desk", event_id=event.id))
        else:
            db.session.commit()
            session.pop(WALK_IN_KEY, None)
            _remember(found.elector_id)
            if found.name is not None:
                flash(_("The phone is confirmed: %(name)s is on the roll.", name=found.name), "success")
            elif found.created:
                flash(_("The phone is confirmed. This person is now registered for this event."), "success")
            else:
                flash(_("The phone is confirmed. This person was already registered (for example online)."), "success")
            return redirect(url_for("desk.elector", event_id=event.id, elector_id=found.elector_id))
    spent = (challenge.ended_at is not None or utcnow() >= challenge.expires_at
             or challenge.failures >= current_app.config["SMS_CODE_MAX_FAILURES"])
    return render_template("desk/code.html", event=event, challenge=challenge, form=form, spent=spent), status


def _elector_page(event, elector, form, status=200):
    return render_template(
        "desk/elector.html",
        event=event,
        person=operations.describe(elector),
        votes=operations.voted_by_category(event, elector.id),
        cards=operations.cards_bound(elector.id),
        closed_message=_desk_state(event),
        form=form,
    ), status


@bp.route("/events/<int:event_id>/electors/<int:elector_id>")
@desk_only
def elector(event_id, elector_id):
    event = _desk_event(event_id)
    return _elector_page(event, _found_elector(event, elector_id), BindCardForm(formdata=None))


@bp.route("/events/<int:event_id>/electors/<int:elector_id>/cards", methods=["POST"])
@desk_only
def bind_card(event_id, elector_id):
    event = _desk_event(event_id)
    elector = _found_elector(event, elector_id)
    form = BindCardForm()
    if not form.validate_on_submit():
        return _elector_page(event, elector, form, 400)
    try:
        bound = operations.bind_card(event, elector, form.code.data, current_user)
    except EventLocked:
        db.session.rollback()
        form.code.errors = list(form.code.errors) + [_frozen_message()]
        return _elector_page(event, elector, form, 409)
    except NotAllowed as exc:
        db.session.rollback()
        form.code.errors = list(form.code.errors) + [exc.message]
        return _elector_page(event, elector, form, 409)
    db.session.commit()
    if bound.other_cards:
        flash(_("The new card is registered. The earlier card still votes as the same person: "
                "whichever card is used first, this person votes once in each category."), "success")
    else:
        flash(_("The card is registered. It now votes as this person, once in each category."), "success")
    return redirect(url_for("desk.elector", event_id=event.id, elector_id=elector.id, _anchor="main"))
