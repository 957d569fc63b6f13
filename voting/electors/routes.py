"""Resident pages of the electors area: confirming a mobile phone, claiming a roll entry.

Each page is one URL with two steps. Step 1 (``action=send``) takes the number (and, for a
claim, the name and birth date), commits the SMS challenge, then sends the code: a failed
send is said plainly and loses nothing. Step 2 (``action=confirm``) takes the code. Only
the challenge id is kept in the session between the steps, never the number or the code.

Rate limits (Flask-Limiter): a code goes to one phone (keyed by the phone's HMAC, so no
number reaches the limiter's storage) at most SMS_PHONE_RATE_LIMIT, and from one address
at most SMS_ADDRESS_RATE_LIMIT; wrong codes and claims that match no roll entry count
against CODE_RATE_LIMIT per address, right ones do not (deduct_when).
"""
from datetime import datetime, timezone

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_limiter.util import get_remote_address

from voting.accounts.models import Role
from voting.electors import challenges
from voting.electors import phone as operations
from voting.electors.forms import ClaimForm, CodeForm, PhoneForm
from voting.electors.models import EligibilityMode, SmsChallenge
from voting.events.models import Event
from voting.events.operations import NotAllowed
from voting.extensions import db, limiter
from voting.database import utcnow
from voting.security import roles_required
from voting.sms import SmsNotSent

bp = Blueprint("electors", __name__)
residents_only = roles_required(Role.RESIDENT)
SESSION_KEYS = {"phone": "phone_challenge", "claim": "claim_challenge"}


# ---------------------------------------------------------------------------
# Rate limits


def _resident_posting():
    return request.method == "POST" and current_user.is_authenticated and current_user.role == Role.RESIDENT


def _sending():
    return _resident_posting() and request.form.get("action") == "send"


def _posted_phone_key():
    """The HMAC of the number a resident asks a code for, or "" when no code would go out."""
    if "sms_phone_key" not in g:
        key = ""
        if _sending():
            try:
                key = operations.read_phone(request.form.get("phone")).digest
            except operations.NotAPhone:
                pass
        g.sms_phone_key = key
    return g.sms_phone_key


def _code_refused(_response):
    return bool(g.get("sms_code_refused"))


phone_send_limit = limiter.shared_limit(
    lambda: current_app.config["SMS_PHONE_RATE_LIMIT"], scope="sms-phone", key_func=_posted_phone_key,
    exempt_when=lambda: not _posted_phone_key(),
    error_message=lambda: _("Too many codes were sent to this number. To protect it, no new code can be sent "
                            "for a while."),
)
address_send_limit = limiter.shared_limit(
    lambda: current_app.config["SMS_ADDRESS_RATE_LIMIT"], scope="sms-address", key_func=get_remote_address,
    exempt_when=lambda: not _posted_phone_key(),
    error_message=lambda: _("Too many codes were asked for from this network. No new code can be sent from here "
                            "for a while."),
)
failure_limit = limiter.shared_limit(
    lambda: current_app.config["CODE_RATE_LIMIT"], scope="sms-failures", key_func=get_remote_address,
    exempt_when=lambda: not _resident_posting(), deduct_when=_code_refused,
    error_message=lambda: _("Too many wrong codes or details were typed from this network. Please wait before "
                            "trying again."),
)


@bp.errorhandler(429)
def too_many(error):
    current = limiter.current_limit
    retry_at = None
    if current is not None:
        try:
            retry_at = datetime.fromtimestamp(current.reset_at, tz=timezone.utc)
        except (TypeError, ValueError, OverflowError):
            retry_at = None
    return render_template("electors/too_many.html", message=error.description, retry_at=retry_at,
                           back_url=request.path), 429


# ---------------------------------------------------------------------------
# Shared steps


def _public_event(event_id):
    event = db.get_or_404(Event, event_id)
    if not event.is_public:
        abort(404)
    return event


def _remember(purpose, event, challenge):
    session[SESSION_KEYS[purpose]] = {"event": event.id, "id": challenge.id}


def _forget(purpose):
    session.pop(SESSION_KEYS[purpose], None)


def _remembered(purpose, event):
    """The challenge this browser was last sent a code for, for this event and account, or None."""
    kept = session.get(SESSION_KEYS[purpose])
    if not isinstance(kept, dict) or kept.get("event") != event.id or not isinstance(kept.get("id"), int):
        return None
    return challenges.find_challenge(kept["id"], event, purpose, current_user)


def _usable(challenge):
    return (challenge is not None and challenge.ended_at is None and utcnow() < challenge.expires_at
            and challenge.failures < current_app.config["SMS_CODE_MAX_FAILURES"])


def _page(template, status=200, **context):
    response = current_app.make_response((render_template(template, **context), status))
    response.headers["Cache-Control"] = "no-store"  # the forms may show the number typed
    return response


def _send(purpose, event, number, start):
    """Commits the challenge, then sends its code. Returns the challenge, or None when sending failed."""
    challenge, code = start()
    db.session.commit()
    try:
        challenges.send_code(number, code, event)
    except SmsNotSent as exc:
        current_app.logger.warning("SMS code for event %s not sent: %s", event.id, type(exc).__name__)
        return None
    _remember(purpose, event, challenge)
    return challenge


def _not_sent_message():
    return _("We could not send the text message just now. Nothing you entered was lost: please try again in a "
             "minute. If it keeps failing, the check-in desk at the venue can help you.")


def _confirm(purpose, event, code_form, confirm):
    """Runs ``confirm(challenge, code)``; returns ("done", elector), ("refused", message), ("again", message)
    when there is no code to check, or ("retry", challenge) when the code was refused."""
    challenge = _remembered(purpose, event)
    if challenge is None:
        return "again", _("Your code has ended or was never sent. Ask for a new code.")
    if not code_form.validate_on_submit():
        return "retry", challenge
    try:
        elector = confirm(challenge, code_form.code.data)
    except challenges.CodeRefused as exc:
        db.session.commit()  # the failure count (or the end of the code) stays
        g.sms_code_refused = True
        code_form.code.errors = list(code_form.code.errors) + [exc.message]
        return "retry", db.session.get(SmsChallenge, challenge.id)
    except operations.PhoneTaken as exc:
        db.session.commit()  # the code is spent
        _forget(purpose)
        return "refused", exc.message
    except NotAllowed as exc:
        db.session.rollback()
        _forget(purpose)
        return "refused", exc.message
    db.session.commit()
    _forget(purpose)
    return "done", elector


def _other_mode_page(event, template_purpose):
    return _page("electors/other_mode.html", event=event, purpose=template_purpose,
                 mode=operations.mode_of(event).value)


# ---------------------------------------------------------------------------
# Phone confirmation (phone mode)


@bp.route("/events/<int:event_id>/phone", methods=["GET", "POST"])
@residents_only
@phone_send_limit
@address_send_limit
@failure_limit
def phone(event_id):
    event = _public_event(event_id)
    if operations.mode_of(event) != EligibilityMode.PHONE:
        return _other_mode_page(event, "phone")
    mine = operations.elector_of_account(event, current_user)
    if mine is not None:
        return _page("electors/phone.html", event=event, step="done", elector=mine)
    if not operations.accepting(event):
        return _page("electors/phone.html", event=event, step="closed")
    phone_form, code_form = PhoneForm(), CodeForm()
    action = request.form.get("action") if request.method == "POST" else None
    context = {"event": event, "phone_form": phone_form, "code_form": code_form}

    if action == "send":
        if not phone_form.validate_on_submit():
            return _page("electors/phone.html", 400, step="number", **context)
        number = phone_form.number
        try:
            challenge = _send("phone", event, number,
                              lambda: operations.start_phone_check(event, current_user, number))
        except NotAllowed as exc:
            db.session.rollback()
            return _page("electors/phone.html", 409, step="number", problem=exc.message, **context)
        if challenge is None:
            return _page("electors/phone.html", 503, step="number", problem=_not_sent_message(), **context)
        return _page("electors/phone.html", step="code", challenge=challenge, **context)

    if action == "confirm":
        outcome, value = _confirm("phone", event, code_form,
                                  lambda challenge, code: operations.confirm_phone(event, current_user, challenge, code))
        if outcome == "done":
            flash(_("Your mobile phone is confirmed. You can vote in this event now."), "success")
            return redirect(url_for("electors.phone", event_id=event.id))
        if outcome == "refused":
            return _page("electors/phone.html", 409, step="refused", message=value, **context)
        if outcome == "again":
            return _page("electors/phone.html", 400, step="number", problem=value, **context)
        return _page("electors/phone.html", 400, step="code", challenge=value, **context)

    if request.method == "POST":
        abort(400)
    challenge = None if request.args.get("change") else _remembered("phone", event)
    if _usable(challenge):
        return _page("electors/phone.html", step="code", challenge=challenge, **context)
    ended = _("Your last code can no longer be used. Ask for a new one.") if challenge is not None else None
    return _page("electors/phone.html", step="number", problem=ended, **context)


# ---------------------------------------------------------------------------
# Roll claim (roll mode)


@bp.route("/events/<int:event_id>/claim", methods=["GET", "POST"])
@residents_only
@phone_send_limit
@address_send_limit
@failure_limit
def claim(event_id):
    event = _public_event(event_id)
    if operations.mode_of(event) != EligibilityMode.ROLL:
        return _other_mode_page(event, "claim")
    mine = operations.elector_of_account(event, current_user)
    if mine is not None:
        return _page("electors/claim.html", event=event, step="done", elector=mine)
    if not operations.accepting(event):
        return _page("electors/claim.html", event=event, step="closed")
    claim_form, code_form = ClaimForm(), CodeForm()
    action = request.form.get("action") if request.method == "POST" else None
    context = {"event": event, "claim_form": claim_form, "code_form": code_form}

    if action == "send":
        if not claim_form.validate_on_submit():
            return _page("electors/claim.html", 400, step="details", **context)
        number = claim_form.number
        try:
            entry = operations.find_roll_entry(event, claim_form.name.data, claim_form.birth_date.data, number)
            challenge = _send("claim", event, number,
                              lambda: operations.start_claim(event, current_user, entry, number))
        except operations.NotOnRoll as exc:
            g.sms_code_refused = True  # a failed look-up counts like a wrong code
            return _page("electors/claim.html", 400, step="details", problem=exc.message, **context)
        except NotAllowed as exc:
            db.session.rollback()
            return _page("electors/claim.html", 409, step="details", problem=exc.message, **context)
        if challenge is None:
            return _page("electors/claim.html", 503, step="details", problem=_not_sent_message(), **context)
        return _page("electors/claim.html", step="code", challenge=challenge, **context)

    if action == "confirm":
        outcome, value = _confirm("claim", event, code_form,
                                  lambda challenge, code: operations.confirm_claim(event, current_user, challenge, code))
        if outcome == "done":
            flash(_("You are found on the roll and your account is linked to it. You can vote in this event now."),
                  "success")
            return redirect(url_for("electors.claim", event_id=event.id))
        if outcome == "refused":
            return _page("electors/claim.html", 409, step="refused", message=value, **context)
        if outcome == "again":
            return _page("electors/claim.html", 400, step="details", problem=value, **context)
        return _page("electors/claim.html", 400, step="code", challenge=value, **context)

    if request.method == "POST":
        abort(400)
    challenge = None if request.args.get("change") else _remembered("claim", event)
    if _usable(challenge):
        return _page("electors/claim.html", step="code", challenge=challenge, **context)
    ended = _("Your last code can no longer be used. Ask for a new one.") if challenge is not None else None
    return _page("electors/claim.html", step="details", problem=ended, **context)
