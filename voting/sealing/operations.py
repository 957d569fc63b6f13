"""The sealed box through an event's life: trustees, sealing on or off, closing, opening.

Operations flush, never commit (the route or command commits once), except where said:
the opening compacts storage after its own commit, because SQLite's VACUUM cannot run
inside a transaction. The key ceremony is in voting.sealing.ceremony.
"""
import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, select, text

from voting.accounts.models import Role, User
from voting.audit import operations as audit
from voting.ballots.models import Ballot, BallotApproval, Channel, Participation
from voting.database import begin_write, utcnow
from voting.events.models import Category, Event, EventState
from voting.events.operations import NotAllowed, change_event_state, ensure_unlocked
from voting.extensions import db
from voting.nominations.models import Nomination, NominationState
from voting.sealing import keys
from voting.sealing.models import MAX_TRUSTEES, BallotBox, SealedBallot, Trustee

SHARE_MESSAGES = {
    keys.ShareProblem.TOO_FEW: lambda box, p: _(
        "At least %(k)d different shares are needed to open the box; nothing was opened.", k=box.threshold),
    keys.ShareProblem.DUPLICATE: lambda box, p: _(
        "Share %(n)d is the same share as an earlier one. Each trustee types their own share; nothing was opened.", n=p),
    keys.ShareProblem.INVALID: lambda box, p: _(
        "Share %(n)d is not a valid share: a word is mistyped or missing (each share has 33 words); nothing was opened.", n=p)
    if p else _("These shares do not fit together; check each word. Nothing was opened."),
    keys.ShareProblem.MISMATCH: lambda box, p: _(
        "Share %(n)d belongs to another ballot box (another event or an earlier ceremony); nothing was opened.", n=p),
    keys.ShareProblem.WRONG_BOX: lambda box, p: _(
        "These shares open another ballot box, not this event's; nothing was opened."),
}


def box_of(event):
    return db.session.get(BallotBox, event.id)


def ensure_box(event):
    box = box_of(event)
    if box is None:
        box = BallotBox(event_id=event.id)
        db.session.add(box)
        db.session.flush()
    return box


def _lock_event(event):
    begin_write(db.session)
    db.session.execute(select(Event.id).where(Event.id == event.id).with_for_update())
    db.session.refresh(event)


def _sealed_count(event_id):
    return db.session.scalar(
        select(func.count()).select_from(SealedBallot).join(Category, Category.id == SealedBallot.category_id)
        .where(Category.event_id == event_id)
    )


def _anyone_voted(event_id):
    return db.session.scalar(
        select(Participation.id).join(Category, Category.id == Participation.category_id)
        .where(Category.event_id == event_id).limit(1)
    ) is not None


def setup_lock(event, now=None):
    """Why sealing, trustees and threshold can no longer change, or None while they can.

    They are fixed once anyone has voted, and once voting has opened with a key made:
    ballots may be sealed to that key from then on.
    """
    if event.id is None:
        return None
    if event.is_locked:
        return _("The results of this event are frozen.")
    if _anyone_voted(event.id):
        return _("Someone has already voted in this event, so the ballot box can no longer be changed.")
    box = box_of(event)
    if box is not None and box.has_key and event.voting.has_started(now or utcnow()):
        return _("Voting has opened with this ballot box, so it can no longer be changed.")
    return None


def _ensure_setup_open(event):
    _lock_event(event)
    reason = setup_lock(event)
    if reason:
        raise NotAllowed(reason)


def set_sealing(event, sealed, actor):
    """Turns the sealed box on or off (before anyone votes). Off discards any key made."""
    ensure_unlocked(event)
    _ensure_setup_open(event)
    if bool(event.sealed) == bool(sealed):
        return
    event.sealed = bool(sealed)
    box = box_of(event)
    if box is not None and not sealed:
        _discard_key(box)
    db.session.flush()
    audit.record("box.sealing", actor=actor, event_id=event.id, details={"sealed": bool(sealed)})


def trustee_candidates():
    """Accounts that may hold a share: enabled residents and officials."""
    return db.session.scalars(
        select(User).where(User.role.in_([Role.RESIDENT, Role.OFFICIAL]), User.is_enabled.is_(True)).order_by(User.name, User.id)
    ).all()


def _discard_key(box):
    box.public_key = box.fingerprint = box.ceremony_salt = None
    box.ceremony_started_at = box.ceremony_completed_at = None
    for trustee in box.trustees:
        trustee.share_shown_at = trustee.confirmed_at = None


def set_trustees(event, user_ids, threshold, actor):
    """Names the n trustees (at least one resident and one official) and the threshold k.

    Any key already made is discarded: its shares went to the trustees named before.
    """
    ensure_unlocked(event)
    _ensure_setup_open(event)
    if not event.sealed:
        raise NotAllowed(_("Sealing is off for this event; turn it on to name trustees."))
    ids = list(dict.fromkeys(user_ids))
    if len(ids) != len(user_ids):
        raise NotAllowed(_("A trustee was named twice."))
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    if len(users) != len(ids) or not all(u.is_enabled and u.role in (Role.RESIDENT, Role.OFFICIAL) for u in users.values()):
        raise NotAllowed(_("Trustees are residents' or officials' accounts that can sign in."))
    if not 2 <= len(ids) <= MAX_TRUSTEES:
        raise NotAllowed(_("Name 2 to %(max)d trustees.", max=MAX_TRUSTEES))
    roles = {u.role for u in users.values()}
    if Role.RESIDENT not in roles or Role.OFFICIAL not in roles:
        raise NotAllowed(_("Name at least one resident and one official as trustees."))
    if not 2 <= threshold <= len(ids):
        raise NotAllowed(_("The number of shares needed is 2 to %(n)d (the number of trustees).", n=len(ids)))
    box = ensure_box(event)
    _discard_key(box)
    box.trustees.clear()
    db.session.flush()
    box.threshold = threshold
    box.trustees.extend(Trustee(user_id=user_id, position=i) for i, user_id in enumerate(ids, start=1))
    db.session.flush()
    audit.record("box.trustees", actor=actor, event_id=event.id,
                 details={"trustees": ids, "threshold": threshold})
    return box


def not_ready_reason_text():
    return _("The ballot box of this event is not ready yet: its trustees have not received their key shares. Voting starts once they have.")


def not_ready_reason(event):
    """Why ballots cannot be cast into this event's box yet, or None."""
    if not event.sealed:
        return None
    box = box_of(event)
    if box is None or not box.has_key:
        return not_ready_reason_text()
    return None


def results_wait_reason(event):
    """Why an event's results cannot be computed or shown yet, or None when they can."""
    if not event.sealed:
        return None
    box = box_of(event)
    if box is not None and box.is_opened:
        return None
    if box is not None and box.is_closed:
        return _("The ballot box is closed and waits to be opened by the trustees (개함). Results are computed only then.")
    return _("The ballots are sealed until the box is opened after voting closes. Until then only turnout is shown.")


# ---------------------------------------------------------------------------
# Closing and opening


def _sealed_rows(event_id):
    return db.session.execute(
        select(SealedBallot.id, SealedBallot.category_id, SealedBallot.sealed)
        .join(Category, Category.id == SealedBallot.category_id).where(Category.event_id == event_id)
    ).all()


def close_box(event, actor=None):
    """At closing: the box commitment over every sealed ballot, appended to the audit log.

    Called when the event moves to CLOSED, under the event's lock.
    Returns the box, or None when the event is not sealed.
    """
    if not event.sealed:
        return None
    box = ensure_box(event)
    if box.is_opened:
        return box
    hashes = sorted(keys.sealed_hash(sealed) for _id, _category, sealed in _sealed_rows(event.id))
    box.sealed_hashes = "\n".join(hashes)
    box.commitment = keys.commitment(hashes)
    box.closed_at = utcnow()
    db.session.flush()
    audit.record("box.close", actor=actor, event_id=event.id,
                 details={"commitment": box.commitment, "sealed_ballots": len(hashes)})
    return box


def reopen_box(event, actor=None):
    """Voting reopens: the commitment no longer covers what may come. Refused once opened."""
    box = box_of(event) if event.sealed else None
    if box is None:
        return
    if box.is_opened:
        raise NotAllowed(_("The ballot box was opened; voting cannot reopen."))
    if box.is_closed:
        audit.record("box.reopen", actor=actor, event_id=event.id, details={"withdrawn_commitment": box.commitment})
        box.commitment = box.sealed_hashes = box.closed_at = None
        db.session.flush()


@dataclass(frozen=True)
class OpenedBox:
    ballots: int
    plain_sha256: str
    commitment: str


def _plain_ballots(event, private, rows):
    """Decrypts every sealed ballot; approvals of nominations that no longer exist are dropped,
    and the plain hash is over approvals of finalists, as the bundle lists them."""
    category_ids = [c.id for c in event.categories]
    nominations = {}
    for nomination_id, category_id, state in db.session.execute(
        select(Nomination.id, Nomination.category_id, Nomination.state).where(Nomination.category_id.in_(category_ids))
    ):
        nominations[nomination_id] = (category_id, state == NominationState.FINALIST)
    plain, lines = [], []
    for _id, category_id, sealed in rows:
        ballot = keys.unseal(private, sealed)
        approvals = sorted({i for i in ballot["approvals"] if nominations.get(i, (None,))[0] == category_id})
        group, channel = ballot["group"], ballot["channel"]
        plain.append((category_id, group, channel, approvals))
        finalist_approvals = [i for i in approvals if nominations[i][1]]
        lines.append(keys.plain_line(category_id, {"group": group, "channel": channel, "approvals": finalist_approvals}))
    return plain, keys.plain_hash(lines)


def open_box(event, typed_shares, actor=None):
    """개함: rebuilds the key from k shares, writes every ballot plain in a random order in this
    transaction, deletes the sealed rows; the key lives only in this call.

    Raises NotAllowed with a clear message (nothing changed) for wrong, duplicate or too few
    shares, a box that is not closed, or one already opened. The caller commits, then calls
    compact_storage().
    """
    ensure_unlocked(event)
    _lock_event(event)
    box = box_of(event)
    if not event.sealed or box is None or not box.has_key:
        raise NotAllowed(_("This event has no sealed ballot box."))
    if box.is_opened:
        raise NotAllowed(_("The ballot box was opened already, at %(when)s.", when=box.opened_at.isoformat()))
    if event.state != EventState.CLOSED or not box.is_closed:
        raise NotAllowed(_("Close the event first: the box is opened only after its commitment is made at closing."))
    try:
        private = keys.recover_key(typed_shares, box.public_key, box.threshold)
    except keys.ShareProblem as problem:
        raise NotAllowed(SHARE_MESSAGES[problem.reason](box, problem.position)) from None
    rows = _sealed_rows(event.id)
    if sorted(keys.sealed_hash(sealed) for _i, _c, sealed in rows) != box.hash_list:
        raise NotAllowed(_("The sealed ballots differ from those committed at closing; nothing was opened. Tell the trustees."))
    try:
        plain, plain_sha256 = _plain_ballots(event, private, rows)
    except ValueError:
        raise NotAllowed(_("A sealed ballot does not open with this key; nothing was opened. Tell the trustees.")) from None
    del private
    secrets.SystemRandom().shuffle(plain)
    _write_plain(plain)
    db.session.execute(delete(SealedBallot).where(SealedBallot.category_id.in_([c.id for c in event.categories])))
    box.opened_at = utcnow()
    box.plain_sha256 = plain_sha256
    db.session.flush()
    audit.record("box.open", actor=actor, event_id=event.id,
                 details={"ballots": len(plain), "plain_sha256": plain_sha256, "commitment": box.commitment})
    return OpenedBox(len(plain), plain_sha256, box.commitment)


def _write_plain(plain):
    ballots, approvals = [], []
    for category_id, group, channel, chosen in plain:
        ballot_id = secrets.token_hex(16)
        ballots.append({"id": ballot_id, "category_id": category_id, "voting_group": group, "channel": Channel(channel)})
        first = min(chosen) if chosen else None
        approvals.extend(
            {"ballot_id": ballot_id, "nomination_id": i, "category_id": category_id, "voting_group": group,
             "channel": Channel(channel), "opens_ballot": i == first}
            for i in chosen
        )
    connection = db.session.connection()
    for start in range(0, len(ballots), 5000):
        connection.execute(insert(Ballot.__table__), ballots[start:start + 5000])
    for start in range(0, len(approvals), 5000):
        connection.execute(insert(BallotApproval.__table__), approvals[start:start + 5000])


def compact_storage():
    """After the opening's commit: no page, WAL frame or dead tuple keeps a sealed row or the
    order in which rows were written."""
    engine = db.engine
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.exec_driver_sql("VACUUM")
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM sealed_ballots"))
            connection.execute(text("VACUUM receipts"))


def move_event(event, new_state, actor=None):
    """Changes an event's state by hand, with its box: closing commits to the sealed ballots,
    reopening withdraws that commitment (refused once the box is opened).

    Returns the box when a commitment was made (its trustees are told), else None.
    """
    from_state = event.state
    _lock_event(event)
    if new_state == EventState.OPEN and from_state == EventState.CLOSED:
        reopen_box(event, actor)
    change_event_state(event, new_state)
    if new_state == EventState.CLOSED and from_state != EventState.CLOSED:
        return close_box(event, actor)
    return None
