"""Finding the elector behind a voter, and making one where the event's mode allows it.

A voter is an account (online), a card (on site) or a personal link. Which elector that
is depends on the event's eligibility mode (see voting.electors.models). Operations flush,
never commit; the ones used while casting run under the write lock the cast holds.
"""
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from voting.accounts.models import VotingGroup
from voting.ballots.models import Channel, Participation
from voting.database import utcnow
from voting.electors.models import CardBinding, EligibilityMode, Elector, ElectorKind
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


def _elector_id_of_account(event_id, user_id):
    return db.session.scalar(select(Elector.id).where(Elector.event_id == event_id, Elector.user_id == user_id))


def _elector_id_of_card(code, mode):
    """A card bound at the desk votes as its elector; an unbound one is its own elector in open mode only."""
    bound = db.session.scalar(select(CardBinding.elector_id).where(CardBinding.code_id == code.id))
    if bound is not None or mode != EligibilityMode.OPEN:
        return bound
    return db.session.scalar(select(Elector.id).where(Elector.code_id == code.id))


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


def _insert_ignoring_duplicate(values):
    """INSERT … ON CONFLICT DO NOTHING on both databases: a racing twin has made the same elector."""
    table = Elector.__table__
    dialect = db.session.get_bind().dialect.name
    statement = (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)).values(**values)
    db.session.connection().execute(statement.on_conflict_do_nothing())


def make_elector(event, voter):
    """Makes the elector of an eligible account or open-mode card that has none yet; returns its id.

    Called under the cast's write lock, after check_eligible, with ``event`` read under it.
    """
    now = utcnow()
    if voter.user is not None:
        _insert_ignoring_duplicate({"event_id": event.id, "voting_group": voter.user.voting_group,
                                    "kind": ElectorKind.ACCOUNT, "user_id": voter.user.id, "created_at": now})
        return _elector_id_of_account(event.id, voter.user.id)
    _insert_ignoring_duplicate({"event_id": event.id, "voting_group": voter.code.batch.group,
                                "kind": ElectorKind.CARD, "code_id": voter.code.id, "created_at": now})
    return _elector_id_of_card(voter.code, EligibilityMode.OPEN)


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
