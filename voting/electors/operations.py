"""Finding the elector behind a voter, and making one where the event's mode allows it.

A voter is an account (online), a card (on site) or a personal link. Which elector that
is depends on the event's eligibility mode (see voting.electors.models). Operations flush,
never commit; the ones used while casting run under the write lock the cast holds.
"""
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from voting.accounts.models import VotingGroup
from voting.ballots.models import Channel, Participation
from voting.database import utcnow
from voting.electors.models import CardBinding, EligibilityMode, Elector, ElectorKind
from voting.events.models import Category
from voting.events.operations import NotAllowed
from voting.extensions import db


class NotEligible(NotAllowed):
    """The voter may not vote in this event as things stand; ``action`` says what to do.

    ``action`` is an endpoint name of the page that fixes it (confirm a phone, claim a
    roll entry) or None; the page shows it as a button.
    """

    def __init__(self, message, action=None):
        super().__init__(message)
        self.action = action


@dataclass(frozen=True)
class PreviousVote:
    """What an elector is told of their earlier ballot: the channel and the time, never the choice."""

    channel: Channel
    at: object


def mode_of(event):
    return EligibilityMode(event.eligibility)


# Every cast runs these under the write lock: built once, run as Core statements on the session's
# connection (the ORM's execute costs about 0.1 ms more each). They read what is flushed.
ELECTOR_OF_ACCOUNT = select(Elector.id).where(Elector.event_id == bindparam("event_id"), Elector.user_id == bindparam("user_id"))
ELECTOR_OF_BOUND_CARD = select(CardBinding.elector_id).where(CardBinding.code_id == bindparam("code_id"))
ELECTOR_OF_CARD = select(Elector.id).where(Elector.code_id == bindparam("code_id"))


# The same, by category, before the cast takes the write lock (see elector_id_before_lock).
ELECTOR_OF_ACCOUNT_IN_CATEGORY = (
    select(Elector.id).join(Category, Category.event_id == Elector.event_id)
    .where(Category.id == bindparam("category_id"), Elector.user_id == bindparam("user_id"))
)


def _scalar(statement, **values):
    return db.session.connection().execute(statement, values).scalar()


def _elector_id_of_account(event_id, user_id):
    return _scalar(ELECTOR_OF_ACCOUNT, event_id=event_id, user_id=user_id)


def _elector_id_of_card(code, mode):
    """A card bound at the desk votes as its elector; an unbound one is its own elector in open mode only."""
    bound = _scalar(ELECTOR_OF_BOUND_CARD, code_id=code.id)
    if bound is not None or mode != EligibilityMode.OPEN:
        return bound
    return _scalar(ELECTOR_OF_CARD, code_id=code.id)


def elector_id_before_lock(category_id, voter):
    """The elector an account already is in the category's event, read before the write lock, or None.

    An elector, once made, keeps its account (it is only ever given one that it lacked), so an
    id found here still holds under the lock; a cast that finds none looks again under the lock
    (find_elector_id). Keeps the one elector lookup of most casts out of the time the write lock
    is held. Cards and personal links: None.
    """
    if voter.user is None or voter.elector_id is not None:
        return None
    return _scalar(ELECTOR_OF_ACCOUNT_IN_CATEGORY, category_id=category_id, user_id=voter.user.id)


def find_elector_id(event, voter):
    """The elector a voter stands for in this event, or None where there is none yet (never creates one)."""
    if voter.elector_id is not None:
        return voter.elector_id
    if voter.user is not None:
        return _elector_id_of_account(event.id, voter.user.id)
    return _elector_id_of_card(voter.code, mode_of(event))


def check_eligible(event, voter, elector_id):
    """Raises NotEligible when this voter may not vote in the event (elector_id: find_elector_id's answer)."""
    mode = mode_of(event)
    if voter.user is not None:
        user = voter.user
        if user.voting_group is None:
            raise NotEligible(_("Judges, staff and organizers do not vote."))
        if user.voting_group == VotingGroup.OFFICIAL or elector_id is not None and mode != EligibilityMode.OPEN:
            return
        if mode == EligibilityMode.OPEN:
            if not user.email_verified:
                raise NotEligible(_("Confirm your email address before voting."), action="accounts.account")
        elif mode == EligibilityMode.PHONE:
            raise NotEligible(
                _("In this event one person votes once, after confirming a mobile phone. Confirm your phone first."),
                action="electors.phone",
            )
        else:
            raise NotEligible(
                _("Only the people on this event's roll vote. Find your entry on the roll first."),
                action="electors.claim",
            )
    elif voter.code is not None and elector_id is None and mode != EligibilityMode.OPEN:
        raise NotEligible(_("Please take this card to the check-in desk (현장 접수) first: it works once it is registered to you."))


INSERT_ELECTOR = {
    "postgresql": postgresql.insert(Elector.__table__).on_conflict_do_nothing().returning(Elector.__table__.c.id),
    "sqlite": sqlite.insert(Elector.__table__).on_conflict_do_nothing().returning(Elector.__table__.c.id),
}


def _insert_ignoring_duplicate(values):
    """INSERT … ON CONFLICT DO NOTHING RETURNING id on both databases; None when a racing twin has
    made the same elector (or it was there)."""
    connection = db.session.connection()
    return connection.execute(INSERT_ELECTOR[connection.dialect.name], values).scalar()


def make_elector(event, voter):
    """Makes the elector of an eligible account or open-mode card that has none yet; returns its id.

    Called under the cast's write lock, after check_eligible, with ``event`` read under it.
    """
    now = utcnow()
    if voter.user is not None:
        made = _insert_ignoring_duplicate({"event_id": event.id, "voting_group": voter.user.voting_group,
                                           "kind": ElectorKind.ACCOUNT, "user_id": voter.user.id, "created_at": now})
        return made if made is not None else _elector_id_of_account(event.id, voter.user.id)
    made = _insert_ignoring_duplicate({"event_id": event.id, "voting_group": voter.code.batch.group,
                                       "kind": ElectorKind.CARD, "code_id": voter.code.id, "created_at": now})
    return made if made is not None else _elector_id_of_card(voter.code, EligibilityMode.OPEN)


def previous_vote(category_id, elector_id):
    if elector_id is None:
        return None
    row = db.session.execute(
        select(Participation.channel, Participation.created_at)
        .where(Participation.category_id == category_id, Participation.elector_id == elector_id)
    ).first()
    return PreviousVote(*row) if row is not None else None


def previous_votes(category_ids, elector_id):
    """{category id: PreviousVote} of one elector, in one query."""
    if elector_id is None:
        return {}
    return {
        category_id: PreviousVote(channel, at)
        for category_id, channel, at in db.session.execute(
            select(Participation.category_id, Participation.channel, Participation.created_at)
            .where(Participation.category_id.in_(list(category_ids)), Participation.elector_id == elector_id)
        )
    }
