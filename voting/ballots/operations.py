"""Casting ballots, on-site codes and sessions, paper totals. Operations flush, never commit."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import String, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from voting.accounts.models import VotingGroup
from voting.audit import operations as audit
from voting.ballots import codes
from voting.ballots.models import (
    Ballot,
    BallotApproval,
    Channel,
    OnsiteCode,
    OnsiteCodeBatch,
    OnsiteSession,
    PaperApproval,
    PaperTotal,
    Participation,
    random_ballot_id,
)
from voting.database import begin_write, utcnow
from voting.electors import operations as electors
from voting.electors.models import EligibilityMode
from voting.events.models import LOCKED_STATES, Category, Event, EventState, Window
from voting.events.operations import EventLocked, NotAllowed, ensure_unlocked, hold_event_state
from voting.extensions import db
from voting.nominations.models import Nomination, NominationState
from voting.sealing import keys as sealing_keys
from voting.sealing import operations as sealing
from voting.sealing.models import BallotBox, Receipt, SealedBallot, random_sealed_id

MAX_BATCH_SIZE = 2000
MAX_COUNTDOWN_MINUTES = 240


class AlreadyVoted(Exception):
    """This elector has a ballot in this category already (by whichever channel)."""

    def __init__(self, category_id, elector_id):
        super().__init__(category_id)
        self.category_id = category_id
        self.elector_id = elector_id


@dataclass(frozen=True)
class Voter:
    """Who casts: an account, an on-site card, or a personal link (its elector). Exactly one is set.

    The ballot belongs to the elector behind it (voting.electors.operations), so that one
    person's account, card and link collide on participations' (category, elector).
    """

    user: object = None
    code: OnsiteCode | None = None
    elector_id: int | None = None
    link_group: VotingGroup | None = None  # a personal link's elector group

    @property
    def group(self):
        if self.user is not None:
            return self.user.voting_group
        if self.code is not None:
            return self.code.batch.group
        return self.link_group

    @property
    def channel(self):
        return Channel.ONSITE if self.code is not None else Channel.ONLINE


def finalists(category):
    return db.session.scalars(
        select(Nomination)
        .where(Nomination.category_id == category.id, Nomination.state == NominationState.FINALIST)
        .order_by(Nomination.title, Nomination.id)
    ).all()


@dataclass(frozen=True)
class Choice:
    id: int
    nominator_id: int
    title: str


def finalist_choices(category):
    """What a ballot needs to know of each finalist, without loading whole nominations."""
    rows = db.session.execute(
        select(Nomination.id, Nomination.nominator_id, Nomination.title).where(
            Nomination.category_id == category.id, Nomination.state == NominationState.FINALIST
        )
    )
    return [Choice(*row) for row in rows]


def open_session(category, now=None):
    return open_sessions([category], now)[category.id]


def open_sessions(categories, now=None):
    """{category id: its open OnsiteSession or None}, in one query."""
    now = now or utcnow()
    found = {category.id: None for category in categories}
    for session in db.session.scalars(
        select(OnsiteSession).where(OnsiteSession.category_id.in_(list(found)), OnsiteSession.closed_at.is_(None))
    ):
        if session.is_open(now):
            found[session.category_id] = session
    return found


def voting_open_for(category, voter, now=None):
    """Accounts vote in the voting window or an open on-site session; codes only in a session."""
    now = now or utcnow()
    event = category.event
    if event.state != EventState.OPEN:
        return False
    if voter.code is not None:
        return open_session(category, now) is not None
    return event.voting.is_open(now) or open_session(category, now) is not None


def previous_vote(category, voter):
    """The voter's elector's earlier ballot in the category (channel and time), or None."""
    return electors.previous_vote(category.id, electors.find_elector_id(category.event, voter))


def has_voted(category, voter):
    return previous_vote(category, voter) is not None


def check_count(category, nomination_ids):
    """What can be told without the database: 1 to k choices, none twice."""
    if len(set(nomination_ids)) != len(nomination_ids):
        raise NotAllowed(_("A finalist was chosen twice."))
    if not nomination_ids:
        raise NotAllowed(_("Choose at least one finalist."))
    if len(nomination_ids) > category.max_approvals:
        raise NotAllowed(_("Choose at most %(k)d finalists.", k=category.max_approvals))


def check_choices(category, voter, nomination_ids):
    """Returns the chosen finalists, or raises NotAllowed saying what is wrong."""
    check_count(category, nomination_ids)
    ids = list(nomination_ids)
    chosen = {n.id: n for n in finalist_choices(category) if n.id in ids}
    if len(chosen) != len(ids):
        raise NotAllowed(_("A chosen finalist is not a finalist of this category."))
    if voter.user is not None and not category.allow_self_approval:
        own = [n.title for n in chosen.values() if n.nominator_id == voter.user.id]
        if own:
            raise NotAllowed(_("You cannot vote for a nomination you submitted yourself: %(titles)s.", titles=", ".join(own)))
    return [chosen[i] for i in ids]


def ensure_may_vote(category, voter, now=None, known_elector_id=None):
    """Raises unless this voter may vote in the category now; returns the elector's id, or None
    where casting will make the elector (an account or a card in open mode).

    known_elector_id: the voter's elector when already found (electors.elector_id_before_lock).
    """
    ensure_unlocked(category.event)
    if voter.user is not None and voter.user.voting_group is None:
        raise NotAllowed(_("Judges, staff and organizers do not vote."))
    if voter.code is not None and voter.code.batch.is_revoked:
        raise NotAllowed(_("This code was withdrawn by the organizers."))
    _ensure_box_ready(category.event)
    elector_id = known_elector_id if known_elector_id is not None else electors.find_elector_id(category.event, voter)
    electors.check_eligible(category.event, voter, elector_id)
    if not voting_open_for(category, voter, now):
        if voter.code is not None:
            raise NotAllowed(_("On-site voting for %(category)s is not open now.", category=category.name))
        raise NotAllowed(_("Voting for %(category)s is not open now.", category=category.name))
    return elector_id


def _ensure_box_ready(event):
    """A sealed event takes ballots only once its key ceremony is complete."""
    if isinstance(event, EventSnapshot):
        ready = not event.sealed or event.public_key is not None
        reason = None if ready else sealing.not_ready_reason_text()
    else:
        reason = sealing.not_ready_reason(event)
    if reason:
        raise NotAllowed(reason)


class UnknownCategory(Exception):
    """No such category, or its event is not public: the voter sees a 404."""


@dataclass(frozen=True)
class EventSnapshot:
    """What casting needs of an event, read under the write lock."""

    id: int
    name: str
    state: EventState
    eligibility: EligibilityMode
    vote_opens_at: datetime | None
    vote_closes_at: datetime | None
    sealed: bool = False
    public_key: bytes | None = None   # the box's, once its key ceremony is complete

    @property
    def voting(self):
        return Window(self.vote_opens_at, self.vote_closes_at)

    @property
    def is_locked(self):
        return self.state in LOCKED_STATES


@dataclass(frozen=True)
class CategorySnapshot:
    """What casting needs of a category, read with its event under the write lock."""

    id: int
    name: str
    max_approvals: int
    allow_self_approval: bool
    event: EventSnapshot

    @property
    def event_id(self):
        return self.event.id


@dataclass(frozen=True)
class CastBallot:
    receipt: str  # grouped for reading; shown once and mailed, stored only as a hash
    category: CategorySnapshot


# FOR SHARE on PostgreSQL: a freeze (or an edit of the category or the event's windows)
# waits for this ballot's commit, and this ballot for theirs. On SQLite the write lock,
# taken first, orders them.
CATEGORY_UNDER_LOCK = (
    select(
        Category.name, Category.max_approvals, Category.allow_self_approval,
        Event.id, Event.name, Event.state, Event.eligibility, Event.vote_opens_at, Event.vote_closes_at,
        Event.sealed, BallotBox.public_key, BallotBox.ceremony_completed_at,
    )
    .join(Event, Event.id == Category.event_id)
    .outerjoin(BallotBox, BallotBox.event_id == Event.id)
    .where(Category.id == bindparam("category_id"))
    .with_for_update(read=True, of=[Category, Event])
)
INSERT_PARTICIPATION = insert(Participation.__table__)
INSERT_BALLOT = insert(Ballot.__table__)
INSERT_SEALED = insert(SealedBallot.__table__)
INSERT_RECEIPT = insert(Receipt.__table__)


def _approvals_statement(exclude_own):
    """Copies the chosen finalists into the ballot: what is not a finalist of the category is left out."""
    chosen = select(
        bindparam("ballot_id", type_=String),
        Nomination.id,
        Nomination.category_id,
        bindparam("voting_group", type_=BallotApproval.__table__.c.voting_group.type),
        bindparam("channel", type_=BallotApproval.__table__.c.channel.type),
        Nomination.id == bindparam("first_id"),
    ).where(
        Nomination.id.in_(bindparam("ids", expanding=True)),
        Nomination.category_id == bindparam("category_id"),
        Nomination.state == NominationState.FINALIST,
    )
    if exclude_own:
        chosen = chosen.where(Nomination.nominator_id != bindparam("voter_id"))
    # RETURNING, not rowcount: psycopg reports no row count for INSERT ... SELECT here.
    approvals = BallotApproval.__table__
    columns = ["ballot_id", "nomination_id", "category_id", "voting_group", "channel", "opens_ballot"]
    return insert(approvals).from_select(columns, chosen).returning(approvals.c.nomination_id)


INSERT_APPROVALS = _approvals_statement(exclude_own=False)
INSERT_APPROVALS_NOT_OWN = _approvals_statement(exclude_own=True)


def hold_category(category_id):
    """Takes the write lock and reads the category and its event afresh under it.

    Every check of a ballot is made on what this returns, so none can be overtaken
    before the commit: not a freeze, not a closed window, not a changed number of
    choices. Raises UnknownCategory or EventLocked.
    """
    begin_write(db.session)
    row = db.session.connection().execute(CATEGORY_UNDER_LOCK, {"category_id": category_id}).first()
    if row is None:
        raise UnknownCategory(category_id)
    (name, max_approvals, allow_self_approval, event_id, event_name, state, eligibility, opens_at, closes_at,
     sealed, public_key, ceremony_completed_at) = row
    if state == EventState.DRAFT:
        raise UnknownCategory(category_id)
    category = CategorySnapshot(
        id=category_id, name=name, max_approvals=max_approvals, allow_self_approval=allow_self_approval,
        event=EventSnapshot(id=event_id, name=event_name, state=state, eligibility=eligibility,
                            vote_opens_at=opens_at, vote_closes_at=closes_at, sealed=bool(sealed),
                            public_key=public_key if ceremony_completed_at is not None else None),
    )
    if category.event.is_locked:
        raise EventLocked(event_id)
    return category


def cast_ballot(category, voter, nomination_ids):
    """Casts a ballot in the given category (anything with an id); returns the receipt."""
    return record_ballot(category.id, voter, nomination_ids).receipt


def record_ballot(category_id, voter, nomination_ids):
    """Writes who voted and what was chosen, apart, in one transaction; returns a CastBallot.

    The category is not loaded before: it is read with its event under the write lock
    (hold_category), and every check is made on that. The participation row is the
    first write; its unique constraint allows one ballot per voter and category, so a
    duplicate fails there before anything else is written. In a sealed event the choice
    is sealed to the box's public key and only the sealed bytes are written; the receipt's
    hash goes to its own table either way. Plain INSERTs on the session's connection, not
    the unit of work: this is the busiest write of the day.
    Raises UnknownCategory, EventLocked, NotAllowed or AlreadyVoted; the caller rolls back.
    """
    receipt = codes.random_code(codes.RECEIPT_LENGTH)  # before the lock: it is held as briefly as can be
    receipt_row = {"receipt_hash": codes.receipt_hash(receipt), "category_id": category_id}
    known = electors.elector_id_before_lock(category_id, voter)  # a read: kept out of the locked time
    category = hold_category(category_id)
    # The event open, the window or a session open, the voter eligible:
    elector_id = ensure_may_vote(category, voter, known_elector_id=known)
    check_count(category, nomination_ids)
    if elector_id is None:
        elector_id = electors.make_elector(category.event, voter)
    user, code = voter.user, voter.code
    group, channel = voter.group, voter.channel
    connection = db.session.connection()
    try:
        connection.execute(
            INSERT_PARTICIPATION,
            {"category_id": category_id, "elector_id": elector_id, "voting_group": group,
             "channel": channel, "created_at": utcnow()},
        )
    except IntegrityError as exc:
        raise AlreadyVoted(category_id, elector_id) from exc
    exclude_own = user is not None and not category.allow_self_approval
    if category.event.sealed:
        _write_sealed(connection, category, voter, nomination_ids, exclude_own)
    else:
        _write_plain(connection, category, voter, nomination_ids, exclude_own)
    connection.execute(INSERT_RECEIPT, receipt_row)
    audit.record(
        "ballot.cast",
        actor=user,
        batch_id=code.batch_id if code is not None else None,
        event_id=category.event_id,
        details={"category_id": category_id, "group": group.value, "channel": channel.value},
    )
    return CastBallot(receipt=codes.grouped(receipt), category=category)


def _chosen_finalists(category, voter, nomination_ids, exclude_own):
    """The chosen ids that are finalists of the category (and not the voter's own, where that is refused)."""
    query = select(Nomination.id).where(
        Nomination.id.in_(list(nomination_ids)), Nomination.category_id == category.id,
        Nomination.state == NominationState.FINALIST,
    )
    if exclude_own:
        query = query.where(Nomination.nominator_id != voter.user.id)
    return db.session.connection().execute(query).scalars().all()


def _refuse_unless_all(category, voter, nomination_ids, accepted):
    if len(accepted) != len(nomination_ids):
        check_choices(category, voter, nomination_ids)  # raises, saying which choice is wrong
        raise NotAllowed(_("A chosen finalist is not a finalist of this category."))


def _write_sealed(connection, category, voter, nomination_ids, exclude_own):
    accepted = _chosen_finalists(category, voter, nomination_ids, exclude_own)
    _refuse_unless_all(category, voter, nomination_ids, accepted)
    payload = sealing_keys.ballot_payload(voter.group.value, voter.channel.value, accepted)
    connection.execute(INSERT_SEALED, {"id": random_sealed_id(), "category_id": category.id,
                                       "sealed": sealing_keys.seal(category.event.public_key, payload)})


def _write_plain(connection, category, voter, nomination_ids, exclude_own):
    ballot_id = random_ballot_id()
    connection.execute(INSERT_BALLOT, {"id": ballot_id, "category_id": category.id,
                                       "voting_group": voter.group, "channel": voter.channel})
    inserted = connection.execute(
        INSERT_APPROVALS_NOT_OWN if exclude_own else INSERT_APPROVALS,
        {"ballot_id": ballot_id, "ids": list(nomination_ids), "category_id": category.id,
         "voting_group": voter.group, "channel": voter.channel, "first_id": min(nomination_ids),
         "voter_id": voter.user.id if exclude_own else None},
    ).all()
    _refuse_unless_all(category, voter, nomination_ids, inserted)


def create_code_batch(event, group, size, label, actor):
    """Returns the batch and its plain codes; only their keyed hashes are stored."""
    ensure_unlocked(event)
    hold_event_state(event.id)
    if not 1 <= size <= MAX_BATCH_SIZE:
        raise NotAllowed(_("A batch has 1 to %(max)d codes.", max=MAX_BATCH_SIZE))
    batch = OnsiteCodeBatch(event_id=event.id, group=VotingGroup(group), size=size, label=label or "", created_by_id=actor.id)
    db.session.add(batch)
    plain = set()
    while len(plain) < size:
        plain.add(codes.random_code(codes.ONSITE_CODE_LENGTH))
    plain = sorted(plain)
    batch.codes = [OnsiteCode(code_hash=codes.onsite_code_hash(code)) for code in plain]
    db.session.flush()
    audit.record("codes.create", actor=actor, batch_id=batch.id, event_id=event.id, details={"size": size, "group": batch.group.value, "label": batch.label})
    return batch, [codes.grouped(code) for code in plain]


def revoke_code_batch(batch, actor):
    ensure_unlocked(db.session.get(Event, batch.event_id))
    hold_event_state(batch.event_id)
    if batch.revoked_at is None:
        batch.revoked_at = utcnow()
        audit.record("codes.revoke", actor=actor, batch_id=batch.id, event_id=batch.event_id)
    db.session.flush()


def find_code(event, typed):
    normalized = codes.normalize(typed)
    if len(normalized) != codes.ONSITE_CODE_LENGTH:
        return None
    code = db.session.scalar(select(OnsiteCode).where(OnsiteCode.code_hash == codes.onsite_code_hash(normalized)))
    if code is None or code.batch.event_id != event.id:
        return None
    return code


def open_onsite_voting(category, minutes, actor):
    ensure_unlocked(category.event)
    hold_event_state(category.event_id)
    if category.event.state != EventState.OPEN:
        raise NotAllowed(_("Open the event before opening on-site voting."))
    if minutes is not None and not 1 <= minutes <= MAX_COUNTDOWN_MINUTES:
        raise NotAllowed(_("The countdown is 1 to %(max)d minutes.", max=MAX_COUNTDOWN_MINUTES))
    if open_session(category) is not None:
        raise NotAllowed(_("On-site voting for this category is already open."))
    now = utcnow()
    session = OnsiteSession(category_id=category.id, opened_at=now, closes_at=now + timedelta(minutes=minutes) if minutes else None)
    db.session.add(session)
    db.session.flush()
    audit.record("onsite.open", actor=actor, event_id=category.event_id, details={"category_id": category.id, "minutes": minutes})
    return session


def close_onsite_voting(category, actor):
    ensure_unlocked(category.event)
    hold_event_state(category.event_id)
    closed = 0
    for session in db.session.scalars(
        select(OnsiteSession).where(OnsiteSession.category_id == category.id, OnsiteSession.closed_at.is_(None))
    ):
        session.closed_at = utcnow()
        closed += 1
    if not closed:
        raise NotAllowed(_("On-site voting for this category is not open."))
    db.session.flush()
    audit.record("onsite.close", actor=actor, event_id=category.event_id, details={"category_id": category.id})


def paper_total(category, group):
    return db.session.scalar(
        select(PaperTotal).where(PaperTotal.category_id == category.id, PaperTotal.group == VotingGroup(group))
    )


def save_paper_totals(category, group, ballots, counts, actor):
    """Replaces the paper totals of one group; counts maps finalist ids to approvals."""
    ensure_unlocked(category.event)
    hold_event_state(category.event_id)
    finalist_ids = {n.id for n in finalists(category)}
    if set(counts) - finalist_ids:
        raise NotAllowed(_("A count is for a nomination that is not a finalist of this category."))
    if ballots < 0 or any(c < 0 for c in counts.values()):
        raise NotAllowed(_("Counts cannot be negative."))
    if any(c > ballots for c in counts.values()):
        raise NotAllowed(_("A finalist cannot have more approvals than there are ballots."))
    if sum(counts.values()) > ballots * category.max_approvals:
        raise NotAllowed(
            _("The approvals add up to %(total)d, more than %(ballots)d ballots × %(k)d choices allow.",
              total=sum(counts.values()), ballots=ballots, k=category.max_approvals)
        )
    total = paper_total(category, group)
    before = None
    if total is None:
        total = PaperTotal(category_id=category.id, group=VotingGroup(group))
        db.session.add(total)
    else:
        before = {"ballots": total.ballots, "approvals": {str(a.nomination_id): a.count for a in total.approvals}}
    total.ballots = ballots
    existing = {a.nomination_id: a for a in total.approvals}
    for nomination_id in finalist_ids:
        count = counts.get(nomination_id, 0)
        if nomination_id in existing:
            existing[nomination_id].count = count
        else:
            total.approvals.append(PaperApproval(nomination_id=nomination_id, count=count))
    db.session.flush()
    after = {"ballots": ballots, "approvals": {str(k): counts.get(k, 0) for k in sorted(finalist_ids)}}
    audit.record(
        "paper.save", actor=actor, event_id=category.event_id,
        details={"category_id": category.id, "group": VotingGroup(group).value, "before": before, "after": after},
    )
    return total


def turnout(event):
    """Ballots per category, group and channel (paper counts as entered)."""
    rows = {}
    category_ids = [c.id for c in event.categories]
    for category_id, group, channel, number in db.session.execute(
        select(Participation.category_id, Participation.group, Participation.channel, func.count())
        .where(Participation.category_id.in_(category_ids))
        .group_by(Participation.category_id, Participation.group, Participation.channel)
    ):
        rows[(category_id, group.value, channel.value)] = number
    for total in db.session.scalars(select(PaperTotal).where(PaperTotal.category_id.in_(category_ids))):
        rows[(total.category_id, total.group.value, Channel.PAPER.value)] = total.ballots
    return rows
