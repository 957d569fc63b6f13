"""The check-in desk (현장 접수): find the elector in front of the staff, bind printed cards to them.

Staff find a person on the roll by name and the last four digits of their phone (never by
browsing), or check a walk-in's phone with an SMS code the person reads out. Either way the
desk ends at the person's elector, and a card bound to it votes as that elector (see
voting.electors.operations). The desk sees whether an elector has voted in each category,
never how nor by which channel. Operations flush, never commit.
"""
import unicodedata
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from voting.accounts.models import VotingGroup
from voting.audit import operations as audit
from voting.ballots import operations as ballots
from voting.ballots.models import Participation
from voting.database import begin_write, savepoint, utcnow
from voting.electors import challenges
from voting.electors.models import CardBinding, EligibilityMode, Elector, ElectorKind, RollEntry
from voting.electors.operations import previous_votes
from voting.events.models import LOCKED_STATES, Event, EventState
from voting.events.operations import EventLocked, NotAllowed, hold_event_state
from voting.extensions import db
from voting.labels import GROUP_LABELS

DESK_MODES = (EligibilityMode.PHONE, EligibilityMode.ROLL)
SEARCH_LIMIT = 10


class NotOnRoll(NotAllowed):
    """The phone checked out, but no entry of the event's roll has it."""


class CardRefused(NotAllowed):
    """The card cannot be bound to this elector; the message says why and what to do."""


@dataclass(frozen=True)
class Found:
    """What the desk may show of an elector: name, dong and birth year come from the roll only."""

    elector_id: int
    group: VotingGroup
    kind: ElectorKind
    last4: str | None
    name: str | None = None
    dong: str | None = None
    birth_year: int | None = None


@dataclass(frozen=True)
class WalkIn:
    elector_id: int
    created: bool  # a new elector (phone mode); else one that existed (online confirmation, the roll)
    name: str | None = None


@dataclass(frozen=True)
class Bound:
    binding: CardBinding
    other_cards: int  # cards bound to the same elector before this one (a lost card)


def desk_events():
    """Open events whose mode needs the desk (phone or roll), the newest first."""
    return db.session.scalars(
        select(Event)
        .where(Event.state == EventState.OPEN, Event.eligibility.in_(DESK_MODES))
        .order_by(Event.year.desc(), Event.id.desc())
    ).all()


def _refuse_unless_desk_works(mode, state):
    if state in LOCKED_STATES:
        raise EventLocked()
    if mode == EligibilityMode.OPEN:
        raise NotAllowed(_("In this event on-site cards work without check-in: hand out a card, nothing to register."))
    if state != EventState.OPEN:
        raise NotAllowed(_("This event is not open, so the desk cannot register anyone now."))


def ensure_desk_works(event):
    """Raises EventLocked or NotAllowed when nothing can be registered at this event's desk."""
    _refuse_unless_desk_works(EligibilityMode(event.eligibility), event.state)


def _hold_desk_event(event):
    """The write lock, with the event's state read afresh under it (a freeze waits, or wins)."""
    state = hold_event_state(event.id)
    _refuse_unless_desk_works(EligibilityMode(event.eligibility), state)


def _comparable_name(text):
    return "".join(unicodedata.normalize("NFC", text or "").split()).lower()


def _insert_elector_ignoring_duplicate(values):
    """Inserts an elector unless a racing desk (or the resident's own phone page) made it a moment
    ago; returns whether this insert made it."""
    table = Elector.__table__
    dialect = db.session.get_bind().dialect.name
    statement = (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)).values(**values)
    made = db.session.connection().execute(statement.on_conflict_do_nothing().returning(table.c.id)).first()
    return made is not None


def _roll_elector_id(entry):
    """The elector of a roll entry, made here if the import left none (it makes one for each entry)."""
    elector_id = db.session.scalar(select(Elector.id).where(Elector.roll_entry_id == entry.id))
    if elector_id is not None:
        return elector_id
    begin_write(db.session)
    _insert_elector_ignoring_duplicate({
        "event_id": entry.event_id, "voting_group": entry.group, "kind": ElectorKind.ROLL,
        "phone_hmac": entry.phone_hmac, "phone_last4": entry.phone_last4, "roll_entry_id": entry.id,
        "created_at": utcnow(),
    })
    elector_id = db.session.scalar(select(Elector.id).where(Elector.roll_entry_id == entry.id))
    if elector_id is None:
        raise NotAllowed(_("This roll entry shares its phone with another person of the event. Ask the organizers."))
    return elector_id


def search_roll(event, name, last4):
    """Roll entries whose name (ignoring spaces and case) and last four phone digits both match."""
    ensure_desk_works(event)
    if EligibilityMode(event.eligibility) != EligibilityMode.ROLL:
        raise NotAllowed(_("This event has no roll: check the person's phone instead."))
    wanted = _comparable_name(name)
    if not wanted or len(last4) != 4 or not last4.isdigit():
        return []
    candidates = db.session.scalars(
        select(RollEntry)
        .where(RollEntry.event_id == event.id, RollEntry.phone_last4 == last4)
        .order_by(RollEntry.name, RollEntry.id)
    ).all()
    matches = [entry for entry in candidates if _comparable_name(entry.name) == wanted][:SEARCH_LIMIT]
    return [
        Found(elector_id=_roll_elector_id(entry), group=entry.group, kind=ElectorKind.ROLL, last4=entry.phone_last4,
              name=entry.name, dong=entry.dong, birth_year=entry.birth_date.year)
        for entry in matches
    ]


def start_walk_in(event, phone, staff):
    """Makes the SMS challenge of a walk-in's phone; returns it with the plain code (to send, never to store)."""
    ensure_desk_works(event)
    return challenges.start_challenge(event, "desk", phone, user=staff)


def _phone_elector_id(event, challenge):
    """The phone's elector (made online by the person's account, or at a desk), or a new one."""
    where = (Elector.event_id == event.id, Elector.phone_hmac == challenge.phone_hmac)
    elector_id = db.session.scalar(select(Elector.id).where(*where))
    if elector_id is not None:
        return elector_id, False
    created = _insert_elector_ignoring_duplicate({
        "event_id": event.id, "voting_group": VotingGroup.RESIDENT, "kind": ElectorKind.PHONE, "user_id": None,
        "phone_hmac": challenge.phone_hmac, "phone_last4": challenge.phone_last4, "created_at": utcnow(),
    })
    return db.session.scalar(select(Elector.id).where(*where)), created


def finish_walk_in(event, challenge, typed):
    """Checks the code the person read out; returns the WalkIn of their elector.

    Raises CodeRefused (the caller commits: the failure must count), NotOnRoll (roll mode,
    the phone is on no entry; the challenge is spent, the caller commits), EventLocked or
    NotAllowed (the caller rolls back).
    """
    _hold_desk_event(event)
    challenges.check_code(challenge, typed)
    if EligibilityMode(event.eligibility) == EligibilityMode.PHONE:
        elector_id, created = _phone_elector_id(event, challenge)
        return WalkIn(elector_id=elector_id, created=created)
    entry = db.session.scalar(
        select(RollEntry).where(RollEntry.event_id == event.id, RollEntry.phone_hmac == challenge.phone_hmac)
    )
    if entry is None:
        raise NotOnRoll(_("The phone is confirmed, but this number is not on the roll of this event. "
                          "Only the people on the roll vote here. Search the roll by name, or ask the organizers."))
    return WalkIn(elector_id=_roll_elector_id(entry), created=False, name=entry.name)


def describe(elector):
    """What the desk shows of an elector (Found)."""
    entry = elector.roll_entry
    if entry is not None:
        return Found(elector_id=elector.id, group=elector.group, kind=elector.kind, last4=entry.phone_last4,
                     name=entry.name, dong=entry.dong, birth_year=entry.birth_date.year)
    return Found(elector_id=elector.id, group=elector.group, kind=elector.kind, last4=elector.phone_last4)


def voted_by_category(event, elector_id):
    """[(category, voted)] for every category of the event: yes or no, never how nor by which channel."""
    voted = previous_votes([c.id for c in event.categories], elector_id)
    return [(category, category.id in voted) for category in event.categories]


def cards_bound(elector_id):
    return db.session.scalar(select(func.count()).select_from(CardBinding).where(CardBinding.elector_id == elector_id))


def _holder_of(code_id):
    """The elector a card is bound to, or None."""
    return db.session.scalar(select(CardBinding.elector_id).where(CardBinding.code_id == code_id))


def _already_bound_refusal(code_id, elector_id):
    if _holder_of(code_id) == elector_id:
        return CardRefused(_("This card is already registered to this person. Hand it to them: it is ready to vote."))
    return CardRefused(_("This card is already registered to another person. Give this person a new card."))


def _voted_unbound(code_id):
    """Whether the card voted as its own elector (open mode, before any desk bound it)."""
    return db.session.scalar(
        select(exists().where(Elector.code_id == code_id, Elector.kind == ElectorKind.CARD,
                              Participation.elector_id == Elector.id))
    )


def bind_card(event, elector, typed, staff):
    """Binds the card whose code was typed to the elector; returns Bound. Raises CardRefused,
    NotAllowed or EventLocked (the caller rolls back).

    Two desks binding one card at once: the card's binding is keyed by the card, so the
    database keeps the first and the second gets the refusal, never an error.
    """
    _hold_desk_event(event)
    code = ballots.find_code(event, typed)
    if code is None:
        raise CardRefused(_("This is not the code of a card of this event. Check the letters and digits on the card."))
    if code.batch.is_revoked:
        raise CardRefused(_("This card was withdrawn by the organizers and no longer works. Give the person another card."))
    if code.batch.group != elector.group:
        raise CardRefused(_("This card is for %(card)s, but this person votes with %(person)s. "
                            "Give them a card for %(person)s.",
                            card=GROUP_LABELS[code.batch.group.value], person=GROUP_LABELS[elector.group.value]))
    if _holder_of(code.id) is not None:
        raise _already_bound_refusal(code.id, elector.id)
    if _voted_unbound(code.id):
        raise CardRefused(_("This card has already been used to vote without check-in, so it cannot be registered. "
                            "Give the person another card."))
    other_cards = cards_bound(elector.id)
    binding = CardBinding(code_id=code.id, elector_id=elector.id, bound_by_id=staff.id, bound_at=utcnow())
    try:
        with savepoint(db.session):
            db.session.add(binding)
    except IntegrityError:
        raise _already_bound_refusal(code.id, elector.id) from None
    audit.record("card.bind", actor=staff, batch_id=code.batch_id, event_id=event.id,
                 details={"elector_id": elector.id})
    return Bound(binding=binding, other_cards=other_cards)
