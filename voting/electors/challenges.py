"""SMS codes: 6 digits sent to a phone, valid 5 minutes, ended by the fifth wrong try.

A challenge keeps only the phone's HMAC and its last four digits, and the code as an HMAC
with a salt of its own; the plain number lives only in the request that sends it.
Operations flush, never commit. The caller commits the challenge *before* sending, so a
failed send loses nothing, and says so to the person.
"""
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from voting import identity
from voting.database import utcnow
from voting.electors.models import SmsChallenge, SmsPurpose
from voting.events.operations import NotAllowed
from voting.extensions import db
from voting.sms import send_sms


class CodeRefused(NotAllowed):
    """A wrong, expired or spent code; ``remaining`` tries are left (0: ask for a new code)."""

    def __init__(self, message, remaining=0):
        super().__init__(message)
        self.remaining = remaining


def start_challenge(event, purpose, phone, *, user=None, roll_entry=None):
    """Makes a challenge for ``phone`` and returns it with the plain code (to send, never to store).

    Earlier open challenges of the same purpose, phone and account end: only the newest code works.
    """
    now = utcnow()
    owner = SmsChallenge.user_id == user.id if user is not None else SmsChallenge.user_id.is_(None)
    db.session.execute(
        update(SmsChallenge)
        .where(SmsChallenge.event_id == event.id, SmsChallenge.purpose == SmsPurpose(purpose),
               SmsChallenge.phone_hmac == phone.digest, SmsChallenge.ended_at.is_(None), owner)
        .values(ended_at=now)
    )
    code = identity.random_sms_code()
    salt = secrets.token_hex(16)
    challenge = SmsChallenge(
        event_id=event.id, user_id=user.id if user is not None else None, purpose=SmsPurpose(purpose),
        phone_hmac=phone.digest, phone_last4=phone.last4,
        roll_entry_id=roll_entry.id if roll_entry is not None else None,
        salt=salt, code_hash=identity.sms_code_hash(salt, code), created_at=now,
        expires_at=now + timedelta(seconds=current_app.config["SMS_CODE_MAX_AGE"]),
    )
    db.session.add(challenge)
    db.session.flush()
    return challenge, code


def send_code(phone, code, event):
    """Sends the code by SMS; raises voting.sms.SmsNotSent."""
    minutes = current_app.config["SMS_CODE_MAX_AGE"] // 60
    send_sms(phone, _("[%(event)s] Your confirmation code is %(code)s. It is valid for %(minutes)d minutes. "
                      "Do not tell it to anyone.", event=event.name, code=code, minutes=minutes))


def find_challenge(challenge_id, event, purpose, user=None):
    """The open challenge of this event and purpose (and account, where one started it), or None."""
    challenge = db.session.get(SmsChallenge, challenge_id) if challenge_id else None
    if challenge is None or challenge.event_id != event.id or challenge.purpose != SmsPurpose(purpose):
        return None
    if challenge.user_id != (user.id if user is not None else None):
        return None
    return challenge


def check_code(challenge, typed):
    """Ends the challenge on the right code; counts a wrong one. Raises CodeRefused.

    The failure count is raised in SQL, so two wrong tries sent at once both count. On
    CodeRefused the caller commits, not rolls back: the count (or the end) must stay.
    """
    now = utcnow()
    limit = current_app.config["SMS_CODE_MAX_FAILURES"]
    if challenge.ended_at is not None or challenge.failures >= limit:
        raise CodeRefused(_("This code can no longer be used. Ask for a new code."))
    if now >= challenge.expires_at:
        challenge.ended_at = now
        db.session.flush()
        raise CodeRefused(_("This code has expired (codes are valid for 5 minutes). Ask for a new code."))
    typed = "".join(ch for ch in (typed or "") if ch in "0123456789")
    if len(typed) == identity.SMS_CODE_DIGITS and identity.codes_equal(challenge.code_hash, challenge.salt, typed):
        ended = db.session.execute(
            update(SmsChallenge).where(SmsChallenge.id == challenge.id, SmsChallenge.ended_at.is_(None))
            .values(ended_at=now)
        ).rowcount
        if not ended:
            raise CodeRefused(_("This code can no longer be used. Ask for a new code."))
        db.session.refresh(challenge)
        return challenge
    db.session.execute(
        update(SmsChallenge).where(SmsChallenge.id == challenge.id).values(failures=SmsChallenge.failures + 1)
    )
    failures = db.session.scalar(select(SmsChallenge.failures).where(SmsChallenge.id == challenge.id))
    if failures >= limit:
        db.session.execute(update(SmsChallenge).where(SmsChallenge.id == challenge.id).values(ended_at=now))
        db.session.refresh(challenge)
        raise CodeRefused(_("That code was wrong %(limit)d times, so it no longer works. Ask for a new code.", limit=limit))
    db.session.refresh(challenge)
    raise CodeRefused(_("That code is not right. %(remaining)d tries left.", remaining=limit - failures),
                      remaining=limit - failures)
