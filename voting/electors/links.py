"""Personal links: single-use links that open the ballot of one roll elector without an account.

Organizers send each entry of a roll-mode event's roll (or a selection) a link by SMS or
mail. A sending is a LinkDispatch with one PersonalLink per entry, state ``pending``; a
background thread (its own app context, one commit per link) then delivers them. The token
is made only when its message is sent: the database keeps its SHA-256, the plain token
exists only in the message. One thread at most works a sending, across processes: a
PostgreSQL advisory lock, or on SQLite a lock file beside the instance (the database is on
the same machine). A thread that died (the process was killed) leaves pending links and no
lock, and the progress page offers to resume.

A link expires with the voting window, can be revoked, and re-sent (which revokes the old
one). It is opened with a POST from its landing page, never by a GET, so that message
previewers cannot use it up; the opening is an UPDATE … WHERE opened_at IS NULL, so of two
simultaneous openings exactly one wins.

Operations flush, never commit (the worker commits its own rows). Audit entries carry
counts and ids, never tokens or numbers.
"""
import fcntl
import hashlib
import re
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, exists, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from voting import identity
from voting.audit import operations as audit
from voting.database import begin_write, utcnow
from voting.electors.models import (
    DeliveryState,
    EligibilityMode,
    Elector,
    ElectorKind,
    LinkChannel,
    LinkDispatch,
    PersonalLink,
    RollEntry,
)
from voting.events.models import Event, EventState
from voting.events.operations import EventLocked, NotAllowed, ensure_unlocked, hold_event_state
from voting.extensions import db
from voting.i18n import format_seoul_datetime
from voting.mail import send_mail
from voting.sms import SmsNotSent, send_sms

TOKEN_BYTES = 32
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{20,64}")
# Keys of PostgreSQL advisory locks (two-int form; the audit log uses the one-bigint form).
WORK_LOCK_KEY = 7302  # (key, dispatch id): held by the thread that delivers a sending
SEND_LOCK_KEY = 7303  # (key, event id): one sending is made at a time per event
CHUNK = 500  # ids per IN (…) list
MAX_PASSES = 20  # a worker goes over its sending again when links became pending while it ran


def new_token():
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token):
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _chunks(values):
    values = list(values)
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def _dialect():
    return db.session.get_bind().dialect.name


# ---------------------------------------------------------------------------
# What an entry's link looks like now


@dataclass(frozen=True)
class LinkView:
    """An entry's newest link as organizers see it; ``state`` is one of LINK_STATES' keys."""

    state: str
    link: PersonalLink | None

    @property
    def live(self):
        """The link can still be revoked: not revoked, and not ended with the window."""
        return self.state in ("pending", "sent", "opened", "failed")


LINK_STATES = {
    "none": _l("No link sent"),
    "pending": _l("Being sent"),
    "sent": _l("Sent, not opened yet"),
    "opened": _l("Opened"),
    "failed": _l("Not delivered"),
    "revoked": _l("Revoked"),
    "expired": _l("Expired with the voting window"),
}


def link_view(link, event, now=None):
    now = now or utcnow()
    if link is None:
        return LinkView("none", None)
    if link.revoked_at is not None:
        return LinkView("revoked", link)
    if now >= event.vote_closes_at:
        return LinkView("expired", link)
    if link.opened_at is not None:
        return LinkView("opened", link)
    return LinkView(DeliveryState(link.state).value, link)


def _newest_link_ids(event_id):
    return (
        select(func.max(PersonalLink.id).label("link_id"))
        .join(Elector, Elector.id == PersonalLink.elector_id)
        .where(Elector.event_id == event_id)
        .group_by(PersonalLink.elector_id)
    )


def latest_links(event_id):
    """{roll entry id: its newest PersonalLink}, in one query."""
    rows = db.session.execute(
        select(Elector.roll_entry_id, PersonalLink)
        .join(Elector, Elector.id == PersonalLink.elector_id)
        .where(PersonalLink.id.in_(_newest_link_ids(event_id)), Elector.roll_entry_id.is_not(None))
    )
    return {entry_id: link for entry_id, link in rows}


def roll_page(event_id, name_filter="", page=1, size=100):
    """(entries of one page ordered by name, total entries matching, {entry id: newest link})."""
    query = select(RollEntry).where(RollEntry.event_id == event_id)
    if name_filter:
        query = query.where(RollEntry.name.contains(name_filter, autoescape=True))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    entries = db.session.scalars(
        query.order_by(RollEntry.name, RollEntry.id).offset((max(page, 1) - 1) * size).limit(size)
    ).all()
    return entries, total, latest_links(event_id)


def _live_link_of(elector_id_column):
    """The elector has a link that is on its way or delivered and not revoked."""
    return exists().where(
        PersonalLink.elector_id == elector_id_column,
        PersonalLink.revoked_at.is_(None),
        PersonalLink.state.in_([DeliveryState.PENDING, DeliveryState.SENT]),
    )


def unsent_count(event_id):
    return db.session.scalar(
        select(func.count()).select_from(RollEntry)
        .outerjoin(Elector, Elector.roll_entry_id == RollEntry.id)
        .where(RollEntry.event_id == event_id, ~_live_link_of(Elector.id))
    )


# ---------------------------------------------------------------------------
# Sending


def send_refusal(event, now=None):
    """Why links cannot be sent for this event now (a message), or None."""
    try:
        ensure_may_send(event, now)
    except EventLocked:
        return _("The results of this event are frozen; this can no longer change.")
    except NotAllowed as exc:
        return exc.message
    return None


def ensure_may_send(event, now=None):
    """Raises EventLocked (frozen) or NotAllowed unless links may be sent for the event now."""
    now = now or utcnow()
    ensure_unlocked(event)
    if EligibilityMode(event.eligibility) != EligibilityMode.ROLL:
        raise NotAllowed(_("Personal links are only for events in roll mode (명부): "
                           "in this event people vote in another way."))
    if event.state == EventState.CLOSED or now >= event.vote_closes_at:
        raise NotAllowed(_("The voting window has ended, so personal links can no longer be sent."))
    if event.state not in (EventState.DRAFT, EventState.OPEN):
        raise NotAllowed(_("Voting in this event has ended, so personal links can no longer be sent."))


def _hold_event_for_sending(event):
    """Takes the write lock, orders this sending with others of the event and with a freeze,
    and checks the event afresh under them."""
    hold_event_state(event.id)
    if _dialect() == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(CAST(:key AS integer), CAST(:id AS integer))"),
                           {"key": SEND_LOCK_KEY, "id": event.id})
    db.session.refresh(event)
    ensure_may_send(event)


@dataclass(frozen=True)
class SendSummary:
    queued: int
    skipped: int  # on the selection but without a phone (SMS) or an email address (mail)
    replaced: int  # earlier links of the same people, revoked by this sending


def _reachable(entry, channel):
    return bool(entry.email) if channel == LinkChannel.MAIL else entry.phone_sealed is not None


def _make_missing_electors(event, entries):
    """The roll import makes each entry's elector; one missing is made here (a racing twin wins)."""
    table = Elector.__table__
    insert = postgresql.insert if _dialect() == "postgresql" else sqlite.insert
    now = utcnow()
    for entry in entries:
        statement = insert(table).values(
            event_id=event.id, voting_group=entry.group, kind=ElectorKind.ROLL, phone_hmac=entry.phone_hmac,
            phone_last4=entry.phone_last4, roll_entry_id=entry.id, created_at=now,
        ).on_conflict_do_nothing()
        db.session.execute(statement)
    ids = [entry.id for entry in entries]
    found = {}
    for chunk in _chunks(ids):
        found.update(db.session.execute(
            select(Elector.roll_entry_id, Elector.id).where(Elector.roll_entry_id.in_(chunk))
        ).all())
    return found


def create_dispatch(event, channel, actor, entry_ids=None, *, action="links.send"):
    """Queues a link for each entry of ``entry_ids`` (None: everyone not yet sent a link).

    Earlier links of those people are revoked: a person has one working link at a time.
    Returns (LinkDispatch, SendSummary); the caller commits, then starts the delivery.
    Raises EventLocked or NotAllowed.
    """
    channel = LinkChannel(channel)
    if channel == LinkChannel.MAIL and not current_app.config.get("MAIL_SERVER"):
        raise NotAllowed(_("Mail cannot be sent: no mail server is set up (MAIL_SERVER). Send by SMS instead."))
    _hold_event_for_sending(event)
    query = (
        select(RollEntry, Elector.id)
        .outerjoin(Elector, Elector.roll_entry_id == RollEntry.id)
        .where(RollEntry.event_id == event.id)
        .order_by(RollEntry.name, RollEntry.id)
    )
    if entry_ids is None:
        rows = db.session.execute(query.where(~_live_link_of(Elector.id))).all()
    else:
        wanted = sorted({int(i) for i in entry_ids})
        rows = [row for chunk in _chunks(wanted) for row in db.session.execute(query.where(RollEntry.id.in_(chunk)))]
        if not rows:
            raise NotAllowed(_("None of the chosen people is on this event's roll."))
    if not rows:
        raise NotAllowed(_("Everyone on the roll has been sent a link already."))
    reachable = [(entry, elector_id) for entry, elector_id in rows if _reachable(entry, channel)]
    if not reachable:
        if channel == LinkChannel.MAIL:
            raise NotAllowed(_("None of the chosen people has an email address on the roll. Send by SMS instead."))
        raise NotAllowed(_("None of the chosen people has a phone number kept for delivery on the roll."))
    missing = [entry for entry, elector_id in reachable if elector_id is None]
    made = _make_missing_electors(event, missing) if missing else {}
    elector_ids = [elector_id if elector_id is not None else made[entry.id] for entry, elector_id in reachable]
    now = utcnow()
    replaced = 0
    for chunk in _chunks(elector_ids):
        replaced += db.session.execute(
            update(PersonalLink)
            .where(PersonalLink.elector_id.in_(chunk), PersonalLink.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
    dispatch = LinkDispatch(event_id=event.id, channel=channel, created_by_id=actor.id, created_at=now)
    db.session.add(dispatch)
    db.session.flush()
    db.session.execute(
        PersonalLink.__table__.insert(),
        [{"elector_id": elector_id, "dispatch_id": dispatch.id, "channel": channel, "state": DeliveryState.PENDING,
          "attempts": 0, "created_at": now, "expires_at": event.vote_closes_at} for elector_id in elector_ids],
    )
    summary = SendSummary(queued=len(elector_ids), skipped=len(rows) - len(reachable), replaced=replaced)
    audit.record(action, actor=actor, event_id=event.id,
                 details={"dispatch_id": dispatch.id, "channel": channel.value, "queued": summary.queued,
                          "skipped": summary.skipped, "replaced": summary.replaced})
    return dispatch, summary


def retry_failed(dispatch, actor):
    """Puts the failed, unrevoked links of a sending back to pending; returns how many."""
    event = db.session.get(Event, dispatch.event_id)
    _hold_event_for_sending(event)
    count = db.session.execute(
        update(PersonalLink)
        .where(PersonalLink.dispatch_id == dispatch.id, PersonalLink.state == DeliveryState.FAILED,
               PersonalLink.revoked_at.is_(None))
        .values(state=DeliveryState.PENDING)
    ).rowcount
    if not count:
        raise NotAllowed(_("No undelivered links are left to try again in this sending."))
    audit.record("links.retry", actor=actor, event_id=event.id, details={"dispatch_id": dispatch.id, "count": count})
    return count


def resume_dispatch(dispatch, actor):
    """Checks that a stopped sending can go on (pending links, no thread working); returns how many."""
    event = db.session.get(Event, dispatch.event_id)
    _hold_event_for_sending(event)
    pending = pending_count(dispatch.id)
    if not pending:
        raise NotAllowed(_("Nothing is left to send in this sending."))
    if is_working(dispatch.id):
        raise NotAllowed(_("This sending is still running; its page updates by itself."))
    audit.record("links.resume", actor=actor, event_id=event.id, details={"dispatch_id": dispatch.id, "pending": pending})
    return pending


def revoke_link(link, actor):
    """The link no longer opens the ballot, and a ballot page it opened closes."""
    revoked = db.session.execute(
        update(PersonalLink).where(PersonalLink.id == link.id, PersonalLink.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount
    if not revoked:
        raise NotAllowed(_("This link was revoked already."))
    db.session.refresh(link)
    audit.record("links.revoke", actor=actor, event_id=link.elector.event_id, details={"link_id": link.id})


# ---------------------------------------------------------------------------
# Progress of a sending


@dataclass(frozen=True)
class Progress:
    total: int
    pending: int
    sent: int
    failed: int
    cancelled: int  # revoked before it was delivered
    opened: int
    working: bool

    @property
    def done(self):
        return self.pending == 0

    @property
    def stalled(self):
        """Links wait and no thread works on them: the thread died with its process."""
        return self.pending > 0 and not self.working

    def as_json(self):
        return {"total": self.total, "pending": self.pending, "sent": self.sent, "failed": self.failed,
                "cancelled": self.cancelled, "opened": self.opened, "working": self.working,
                "done": self.done, "stalled": self.stalled}


def _pending_condition(dispatch_id):
    return (PersonalLink.dispatch_id == dispatch_id, PersonalLink.state == DeliveryState.PENDING,
            PersonalLink.revoked_at.is_(None))


def pending_count(dispatch_id):
    return db.session.scalar(select(func.count()).select_from(PersonalLink).where(*_pending_condition(dispatch_id)))


def dispatch_progress(dispatch):
    pending = PersonalLink.state == DeliveryState.PENDING
    row = db.session.execute(
        select(
            func.count(),
            func.sum(case((pending & PersonalLink.revoked_at.is_(None), 1), else_=0)),
            func.sum(case((PersonalLink.state == DeliveryState.SENT, 1), else_=0)),
            func.sum(case((PersonalLink.state == DeliveryState.FAILED, 1), else_=0)),
            func.sum(case((pending & PersonalLink.revoked_at.is_not(None), 1), else_=0)),
            func.sum(case((PersonalLink.opened_at.is_not(None), 1), else_=0)),
        ).where(PersonalLink.dispatch_id == dispatch.id)
    ).one()
    total, pending_n, sent, failed, cancelled, opened = (int(value or 0) for value in row)
    return Progress(total=total, pending=pending_n, sent=sent, failed=failed, cancelled=cancelled, opened=opened,
                    working=bool(pending_n) and is_working(dispatch.id))


@dataclass(frozen=True)
class FailedLink:
    link_id: int
    name: str
    last4: str
    reason: str
    attempts: int
    replaced: bool  # revoked since: a newer link went to the person


def failed_links(dispatch):
    rows = db.session.execute(
        select(PersonalLink.id, RollEntry.name, Elector.phone_last4, PersonalLink.last_error, PersonalLink.attempts,
               PersonalLink.revoked_at)
        .join(Elector, Elector.id == PersonalLink.elector_id)
        .outerjoin(RollEntry, RollEntry.id == Elector.roll_entry_id)
        .where(PersonalLink.dispatch_id == dispatch.id, PersonalLink.state == DeliveryState.FAILED)
        .order_by(RollEntry.name, PersonalLink.id)
    )
    return [FailedLink(link_id, name or "", last4 or "", reason or "", attempts, revoked_at is not None)
            for link_id, name, last4, reason, attempts, revoked_at in rows]


def recent_dispatches(event_id, limit=20):
    dispatches = db.session.scalars(
        select(LinkDispatch).where(LinkDispatch.event_id == event_id).order_by(LinkDispatch.id.desc()).limit(limit)
    ).all()
    return [(dispatch, dispatch_progress(dispatch)) for dispatch in dispatches]


# ---------------------------------------------------------------------------
# One worker per sending, across threads and processes


def _lock_path(dispatch_id):
    database = current_app.config["SQLALCHEMY_DATABASE_URI"]
    folder = Path(current_app.instance_path) / "link-locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{hashlib.sha256(database.encode('utf-8')).hexdigest()[:16]}-{dispatch_id}.lock"


TRY_WORK_LOCK = text("SELECT pg_try_advisory_lock(CAST(:key AS integer), CAST(:id AS integer))")
WORK_UNLOCK = text("SELECT pg_advisory_unlock(CAST(:key AS integer), CAST(:id AS integer))")


@contextmanager
def work_lock(dispatch_id):
    """Yields True when the caller now works the sending alone, False when someone else does.

    A killed process loses its lock with its database connection (PostgreSQL) or its open
    file (SQLite), so a lock never outlives the thread that held it.
    """
    if db.engine.dialect.name == "postgresql":
        params = {"key": WORK_LOCK_KEY, "id": dispatch_id}
        connection = db.engine.connect()
        try:
            got = bool(connection.execute(TRY_WORK_LOCK, params).scalar())
            connection.commit()
            try:
                yield got
            finally:
                if got:
                    connection.execute(WORK_UNLOCK, params)
                    connection.commit()
        except BaseException:
            connection.invalidate()  # closes it for real: no pooled connection keeps the lock
            raise
        finally:
            connection.close()
        return
    with open(_lock_path(dispatch_id), "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            got = True
        except BlockingIOError:
            got = False
        try:
            yield got
        finally:
            if got:
                fcntl.flock(handle, fcntl.LOCK_UN)


def is_working(dispatch_id):
    with work_lock(dispatch_id) as got:
        return not got


_workers = []
_workers_lock = threading.Lock()


def start_delivery(dispatch_id, link_prefix):
    """Delivers the sending's pending links in a background thread; returns the thread.

    ``link_prefix`` is the link's address without its token (the request knows the host).
    Call it after the commit that made the links pending. It returns once the thread holds
    the sending (or found another worker on it), so the progress page shown next is right.
    """
    app = current_app._get_current_object()
    ready = threading.Event()
    thread = threading.Thread(target=deliver_dispatch, args=(app, dispatch_id, link_prefix, ready),
                              name=f"personal-links-{dispatch_id}", daemon=True)
    with _workers_lock:
        _workers[:] = [t for t in _workers if t.is_alive()]
        _workers.append(thread)
    thread.start()
    ready.wait(5)
    return thread


def running_workers():
    with _workers_lock:
        return [t for t in _workers if t.is_alive()]


def wait_for_workers(timeout=30):
    """Waits for this process's delivery threads (tests; a graceful stop)."""
    for thread in running_workers():
        thread.join(timeout)


def deliver_dispatch(app, dispatch_id, link_prefix, ready=None):
    """The thread's work: every pending link of the sending, one commit each."""
    with app.app_context():
        try:
            for _pass in range(MAX_PASSES):
                with work_lock(dispatch_id) as got:
                    if ready is not None:
                        ready.set()
                    if not got:
                        return  # another thread works it, and will see what became pending
                    _deliver_pending(dispatch_id, link_prefix)
                # Links retried while the lock was held wait for a new pass; a new worker may have it now.
                more = pending_count(dispatch_id)
                db.session.rollback()
                if not more:
                    return
        except Exception:
            app.logger.exception("Delivery of personal links (sending %s) stopped; the page offers to resume it",
                                 dispatch_id)
        finally:
            if ready is not None:
                ready.set()
            db.session.remove()


BATCH = 50


def _deliver_pending(dispatch_id, link_prefix):
    last_id = 0
    while True:
        dispatch = db.session.get(LinkDispatch, dispatch_id)
        event = db.session.get(Event, dispatch.event_id) if dispatch is not None else None
        if event is None:
            db.session.rollback()
            return
        db.session.refresh(event)  # a freeze or a changed window stops the sending
        rows = db.session.execute(
            select(PersonalLink.id, PersonalLink.channel, RollEntry.name, RollEntry.email, RollEntry.phone_sealed)
            .join(Elector, Elector.id == PersonalLink.elector_id)
            .outerjoin(RollEntry, RollEntry.id == Elector.roll_entry_id)
            .where(*_pending_condition(dispatch_id), PersonalLink.id > last_id)
            .order_by(PersonalLink.id)
            .limit(BATCH)
        ).all()
        letter = {"event_name": event.name, "closes_at": event.vote_closes_at}
        stopped = None
        try:
            ensure_may_send(event)
        except (EventLocked, NotAllowed):  # the event changed while its links were being sent
            stopped = "the event no longer accepts links (frozen, closed or not in roll mode)"
            if utcnow() >= event.vote_closes_at:
                stopped = "the voting window ended before it was sent"
        db.session.rollback()  # no transaction stays open while a message is on its way
        if not rows:
            return
        for row in rows:
            last_id = row.id
            if stopped is not None:
                _record_attempt(dispatch_id, row.id, None, stopped)
            else:
                _deliver_one(dispatch_id, row, link_prefix, letter)


def _sms_text(letter, link):
    return _("[%(event)s] Your personal voting link, for you alone. It opens your ballot once, until %(closes)s: "
             "%(link)s", event=letter["event_name"], closes=format_seoul_datetime(letter["closes_at"]), link=link)


def _deliver_one(dispatch_id, row, link_prefix, letter):
    token = new_token()
    link = link_prefix + token
    error = None
    try:
        if LinkChannel(row.channel) == LinkChannel.SMS:
            if row.phone_sealed is None:
                error = "no phone number is kept for delivery on the roll"
            else:
                send_sms(identity.unseal_phone(row.phone_sealed), _sms_text(letter, link))
        elif not row.email:
            error = "no email address on the roll"
        elif not current_app.config.get("MAIL_SERVER"):
            error = "no mail server is set up (MAIL_SERVER)"
        elif not send_mail(row.email, _l("Your personal voting link: %(event)s", event=letter["event_name"]),
                           "personal_link", confidential=True, name=row.name or "", link=link, **letter):
            error = "the mail server did not take the message"
    except SmsNotSent as exc:
        error = str(exc) or "the SMS was not sent"
    except identity.InvalidPhone:
        error = "the phone number kept for delivery could not be read"
    except Exception as exc:  # noqa: BLE001 - one bad message must not stop the others
        # Only the type: a message could hold the link.
        current_app.logger.error("Personal link %s not delivered: %s", row.id, type(exc).__name__)
        error = f"the message could not be made or sent ({type(exc).__name__})"
    _record_attempt(dispatch_id, row.id, token if error is None else None, error)


def _record_attempt(dispatch_id, link_id, token, error):
    """One commit per link. A link revoked meanwhile stays revoked, and its token never works."""
    values = {"attempts": PersonalLink.attempts + 1}
    if error is None:
        values.update(state=DeliveryState.SENT, token_hash=token_hash(token), sent_at=utcnow(), last_error=None)
    else:
        values.update(state=DeliveryState.FAILED, token_hash=None, last_error=error[:200])
    db.session.execute(
        update(PersonalLink).where(PersonalLink.id == link_id, *_pending_condition(dispatch_id)).values(**values)
    )
    db.session.commit()


# ---------------------------------------------------------------------------
# Opening a link and voting with it


class LinkRefused(Exception):
    """The link cannot open (or keep open) a ballot; ``reason`` is a key of REFUSAL_STATUS."""

    def __init__(self, reason, link=None, event=None):
        super().__init__(reason)
        self.reason = reason
        self.link = link
        self.event = event


REFUSAL_STATUS = {"unknown": 404, "revoked": 410, "used": 410, "expired": 410, "ended": 410, "not_roll": 410,
                  "not_yet": 403}


def find_link(token):
    if not token or not TOKEN_PATTERN.fullmatch(token):
        return None
    return db.session.scalar(select(PersonalLink).where(PersonalLink.token_hash == token_hash(token)))


def _check_event(link, event, now):
    if EligibilityMode(event.eligibility) != EligibilityMode.ROLL:
        raise LinkRefused("not_roll", link, event)
    if now >= event.vote_closes_at:
        raise LinkRefused("expired", link, event)
    if event.is_locked or event.state == EventState.CLOSED:
        raise LinkRefused("ended", link, event)


def check_link(link, now=None):
    """Returns the link's event when the link may be opened now; raises LinkRefused."""
    now = now or utcnow()
    if link is None or link.token_hash is None:
        raise LinkRefused("unknown")
    event = db.session.get(Event, link.elector.event_id)
    if link.revoked_at is not None:
        raise LinkRefused("revoked", link, event)
    if link.opened_at is not None:
        raise LinkRefused("used", link, event)
    _check_event(link, event, now)
    if event.state != EventState.OPEN or now < event.vote_opens_at:
        raise LinkRefused("not_yet", link, event)
    return event


def open_link(token, now=None):
    """Uses the link up (single use) and returns (link, event); raises LinkRefused."""
    now = now or utcnow()
    link = find_link(token)
    event = check_link(link, now)
    opened = db.session.execute(
        update(PersonalLink)
        .where(PersonalLink.id == link.id, PersonalLink.opened_at.is_(None), PersonalLink.revoked_at.is_(None),
               PersonalLink.token_hash == token_hash(token))
        .values(opened_at=now)
    ).rowcount
    if not opened:  # another browser opened it (or the organizers revoked it) an instant before
        db.session.refresh(link)
        raise LinkRefused("revoked" if link.revoked_at is not None else "used", link, event)
    db.session.refresh(link)
    audit.record("links.open", actor=None, event_id=event.id, details={"link_id": link.id})
    return link, event


def session_link(remembered, event_id, now=None):
    """The opened link a browser's session holds for this event, checked afresh: (link, elector).

    ``remembered`` is what the opening stored in the session. Raises LinkRefused.
    """
    now = now or utcnow()
    if not isinstance(remembered, dict) or remembered.get("event_id") != event_id:
        raise LinkRefused("unknown")
    link = db.session.get(PersonalLink, remembered.get("link_id")) if isinstance(remembered.get("link_id"), int) else None
    if link is None or link.elector_id != remembered.get("elector_id") or link.opened_at is None:
        raise LinkRefused("unknown")
    elector = link.elector
    event = db.session.get(Event, elector.event_id)
    if elector.event_id != event_id:
        raise LinkRefused("unknown")
    if link.revoked_at is not None:
        raise LinkRefused("revoked", link, event)
    _check_event(link, event, now)
    return link, elector


def hold_link(link_id):
    """For a cast: reads the link under the write lock (FOR SHARE on PostgreSQL), so that a
    revocation either comes before this ballot, which is then refused, or waits for it."""
    begin_write(db.session)
    revoked_at = db.session.execute(
        select(PersonalLink.revoked_at).where(PersonalLink.id == link_id).with_for_update(read=True)
    ).first()
    if revoked_at is None or revoked_at[0] is not None:
        raise LinkRefused("revoked")
