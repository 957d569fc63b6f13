"""A resident's own steps to become an elector: confirming a mobile phone, claiming a roll entry.

Both end with an SMS code (voting.electors.challenges). In ``phone`` mode the confirmed
phone is the elector: one phone, one elector, however many accounts, so a second account
confirming a phone that already belongs to an account is refused, while a phone
registered at the desk without an account (a walk-in) gets this account attached. In
``roll`` mode the roll import made one elector per entry; claiming the entry attaches
the account to it.

Two accounts confirming one phone (or claiming one entry) at once give one elector: the
write lock on SQLite, the unique constraints (uq_electors_event_phone,
uq_electors_event_user, the unique roll_entry_id) and ``UPDATE … WHERE user_id IS NULL``
on PostgreSQL. Operations flush, never commit.
"""
import unicodedata
from datetime import date

import phonenumbers
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from voting.accounts.models import User, VotingGroup
from voting.database import begin_write, savepoint, utcnow
from voting.electors import challenges
from voting.electors.models import EligibilityMode, Elector, ElectorKind, RollEntry
from voting.events.models import Event, EventState
from voting.events.operations import NotAllowed
from voting.extensions import db
from voting.identity import InvalidPhone, parse_phone

PHONE_PUNCTUATION = set("+-(). ")
EARLIEST_BIRTH_DATE = date(1900, 1, 1)


class NotAPhone(InvalidPhone):
    """What was typed is not a Korean mobile number; ``reason``: "letters", "landline", "foreign" or "invalid"."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class PhoneTaken(NotAllowed):
    """The phone (or roll entry) is already the elector of another account."""


class AlreadyElector(NotAllowed):
    """This account already votes as an elector of the event."""


class NotOnRoll(NotAllowed):
    """No entry of the roll has this name, birth date and phone."""


class WrongStep(NotAllowed):
    """The event, the roll or the challenge changed under the person's feet: start again."""


def read_phone(typed):
    """The mobile number a person typed, or NotAPhone saying why not.

    phonenumbers reads letters as on a keypad ("1-800-FLOWERS"), so letters are refused
    first: a typo must not become somebody else's number.
    """
    text = (typed or "").strip()
    if any(not (ch.isdecimal() or ch in PHONE_PUNCTUATION) for ch in text):
        raise NotAPhone("letters")
    try:
        phone = parse_phone(text)
    except InvalidPhone:
        pass
    else:
        if phone.e164.startswith("+82"):
            return phone
        raise NotAPhone("foreign")
    try:
        number = phonenumbers.parse(text, "KR") if 0 < len(text) <= 32 else None
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        raise NotAPhone("landline" if number.country_code == 82 else "foreign")
    raise NotAPhone("invalid")


def phone_problem_message(error):
    if error.reason == "letters":
        return _("A phone number has only digits (and - if you like). Type it like 010-1234-5678.")
    if error.reason == "foreign":
        return _("Type a Korean mobile number (010-…): the code is sent by a Korean text message service.")
    if error.reason == "landline":
        return _("This looks like a home or office phone. Type a mobile number (010-…) that can receive text messages.")
    return _("This is not a mobile phone number. Type it like 010-1234-5678.")


def normalized_name(name):
    """A name as compared with the roll: the same Unicode form, trimmed, inner spaces folded."""
    return " ".join(unicodedata.normalize("NFC", name or "").split()).casefold()


def mask_email(email):
    """r*******1@demo.example: enough for its owner to recognise, not enough to learn it."""
    local, _at, domain = (email or "").rpartition("@")
    if not local:
        return "*" * 3
    if len(local) <= 2:
        return f"{local[0]}{'*' * max(len(local) - 1, 1)}@{domain}"
    return f"{local[0]}{'*' * (len(local) - 2)}{local[-1]}@{domain}"


def mode_of(event):
    return EligibilityMode(event.eligibility)


def accepting(event, now=None):
    """Phones and claims are taken while the event is open and its voting has not ended."""
    return event.state == EventState.OPEN and (now or utcnow()) < event.vote_closes_at


def elector_of_account(event, user):
    return db.session.scalar(
        select(Elector).where(Elector.event_id == event.id, Elector.user_id == user.id)
        .execution_options(populate_existing=True)
    )


def _elector_of_phone(event, phone_hmac):
    return db.session.scalar(
        select(Elector).where(Elector.event_id == event.id, Elector.phone_hmac == phone_hmac)
        .execution_options(populate_existing=True)
    )


def _elector_of_entry(entry_id):
    return db.session.scalar(
        select(Elector).where(Elector.roll_entry_id == entry_id).execution_options(populate_existing=True)
    )


def _owner_email(elector):
    user = db.session.get(User, elector.user_id) if elector.user_id is not None else None
    return mask_email(user.email) if user is not None else "***"


def _phone_taken(elector):
    return PhoneTaken(_(
        "This phone is already confirmed for this event by another account (%(email)s). One phone votes once. "
        "Sign in with the account that first confirmed this phone to vote.", email=_owner_email(elector)))


def _already_elector():
    return AlreadyElector(_("This account already votes in this event."))


def _attach(elector, user):
    """Gives an elector without an account this one; False when another account was quicker."""
    try:
        with savepoint(db.session):
            attached = db.session.execute(
                update(Elector).where(Elector.id == elector.id, Elector.user_id.is_(None)).values(user_id=user.id)
            ).rowcount
    except IntegrityError as exc:  # uq_electors_event_user: this account got an elector meanwhile
        raise _already_elector() from exc
    db.session.refresh(elector)
    return bool(attached)


# ---------------------------------------------------------------------------
# Phone mode


def start_phone_check(event, user, phone):
    """Makes the challenge whose code confirms ``phone`` for this account; returns (challenge, code)."""
    if mode_of(event) != EligibilityMode.PHONE:
        raise WrongStep(_("This event does not use phone confirmation."))
    if elector_of_account(event, user) is not None:
        raise _already_elector()
    return challenges.start_challenge(event, "phone", phone, user=user)


def confirm_phone(event, user, challenge, typed):
    """Checks the code; on the right one the phone becomes this account's elector, which is returned.

    Raises CodeRefused (the caller commits: the count must stay), PhoneTaken (the caller
    commits too: the code is spent) or AlreadyElector.
    """
    begin_write(db.session)
    mine = elector_of_account(event, user)
    if mine is not None:
        if mine.phone_hmac == challenge.phone_hmac:
            return mine
        raise _already_elector()
    challenges.check_code(challenge, typed)
    return phone_elector_for(event, user, challenge.phone_hmac, challenge.phone_last4)


def phone_elector_for(event, user, phone_hmac, phone_last4):
    """The phone's elector with this account on it: made, attached (a walk-in's) or refused."""
    existing = _elector_of_phone(event, phone_hmac)
    if existing is None:
        elector = Elector(event_id=event.id, group=VotingGroup.RESIDENT, kind=ElectorKind.PHONE, user_id=user.id,
                          phone_hmac=phone_hmac, phone_last4=phone_last4)
        try:
            with savepoint(db.session):
                db.session.add(elector)
                db.session.flush()
            return elector
        except IntegrityError:
            # Another request made an elector at the same time: of this phone, or of this account.
            existing = _elector_of_phone(event, phone_hmac)
            if existing is None:
                raise _already_elector() from None
    if existing.user_id == user.id:
        return existing
    if existing.user_id is None and _attach(existing, user):
        return existing
    raise _phone_taken(existing)


# ---------------------------------------------------------------------------
# Roll mode


def find_roll_entry(event, name, birth_date, phone):
    """The entry of the roll with this phone, name and birth date; NotOnRoll does not say which differs."""
    entry = db.session.scalar(
        select(RollEntry).where(RollEntry.event_id == event.id, RollEntry.phone_hmac == phone.digest)
    )
    if entry is None or entry.birth_date != birth_date or normalized_name(entry.name) != normalized_name(name):
        raise NotOnRoll(_("We could not find you on the roll with these details. Check your name, date of birth "
                          "and mobile number as you gave them to the organizers, or ask at the check-in desk."))
    return entry


def _entry_claimed():
    return PhoneTaken(_("This entry of the roll is already claimed by another account. Sign in with the account "
                        "that first claimed it to vote. If that was not you, ask at the check-in desk."))


def start_claim(event, user, entry, phone):
    """Makes the challenge whose code proves the entry's phone; returns (challenge, code)."""
    if mode_of(event) != EligibilityMode.ROLL:
        raise WrongStep(_("This event has no roll to claim."))
    if elector_of_account(event, user) is not None:
        raise _already_elector()
    if entry.group != VotingGroup.RESIDENT:
        raise WrongStep(_("This entry of the roll is for an official. Officials vote with the account the "
                          "organizers invited them with."))
    elector = _elector_of_entry(entry.id)
    if elector is not None and elector.user_id is not None:
        raise _entry_claimed()
    return challenges.start_challenge(event, "claim", phone, user=user, roll_entry=entry)


def confirm_claim(event, user, challenge, typed):
    """Checks the code; on the right one the entry's elector gets this account, and is returned.

    Raises CodeRefused or PhoneTaken (the caller commits), AlreadyElector or WrongStep.
    """
    begin_write(db.session)
    mine = elector_of_account(event, user)
    if mine is not None:
        if challenge.roll_entry_id is not None and mine.roll_entry_id == challenge.roll_entry_id:
            return mine
        raise _already_elector()
    entry = db.session.get(RollEntry, challenge.roll_entry_id) if challenge.roll_entry_id else None
    if entry is None or entry.event_id != event.id or entry.phone_hmac != challenge.phone_hmac:
        raise WrongStep(_("The roll has changed since the code was sent. Please start again."))
    challenges.check_code(challenge, typed)
    elector = _elector_of_entry(entry.id)
    if elector is None:  # the import makes one per entry; should it be missing, it is made here
        elector = Elector(event_id=event.id, group=entry.group, kind=ElectorKind.ROLL, user_id=user.id,
                          phone_hmac=entry.phone_hmac, phone_last4=entry.phone_last4, roll_entry_id=entry.id)
        try:
            with savepoint(db.session):
                db.session.add(elector)
                db.session.flush()
            return elector
        except IntegrityError:
            elector = _elector_of_entry(entry.id)
            if elector is None:
                raise _already_elector() from None
    if elector.user_id == user.id:
        return elector
    if elector.user_id is None and _attach(elector, user):
        return elector
    raise PhoneTaken(_(
        "This entry of the roll is already claimed by another account (%(email)s). Sign in with the account "
        "that first claimed it to vote.", email=_owner_email(elector)))


# ---------------------------------------------------------------------------
# The account page


def account_summary(user, now=None):
    """What the account page says of electors: where this account votes (with the phone's last four
    digits), and the open events that still need a phone or a roll claim from it."""
    rows = db.session.execute(
        select(Event, Elector).join(Elector, Elector.event_id == Event.id)
        .where(Elector.user_id == user.id).order_by(Event.vote_opens_at.desc(), Event.id)
    ).all()
    memberships = [{"event": event, "elector": elector} for event, elector in rows]
    needed = []
    if user.voting_group == VotingGroup.RESIDENT:
        held = {event.id for event, _elector in rows}
        now = now or utcnow()
        candidates = db.session.scalars(
            select(Event).where(Event.state == EventState.OPEN,
                                Event.eligibility.in_([EligibilityMode.PHONE, EligibilityMode.ROLL]),
                                Event.vote_closes_at > now)
            .order_by(Event.vote_opens_at, Event.id)
        )
        needed = [event for event in candidates if event.id not in held]
    return {"memberships": memberships, "needed": needed}
