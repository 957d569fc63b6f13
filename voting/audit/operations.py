"""The audit log: appended to in the transaction of the action it records, never changed."""
import hashlib
import json

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import insert, select, text

from voting.audit.models import AuditEntry
from voting.database import begin_write, utcnow
from voting.extensions import db

GENESIS_HASH = "0" * 64
LAST_HASH = select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)
ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(7301)")
INSERT_ENTRY = insert(AuditEntry.__table__)
ENTRY_COLUMNS = (
    "created_at", "action", "actor_id", "code_batch_id", "event_id", "address", "details", "previous_hash", "entry_hash",
)


def canonical_json(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def entry_digest(entry):
    """The hash of an entry covers every field but its id and its own hash."""
    return _digest({name: getattr(entry, name) for name in HASHED_COLUMNS})


HASHED_COLUMNS = ENTRY_COLUMNS[:-1]  # all but entry_hash


def _digest(values):
    payload = dict(values, created_at=values["created_at"].isoformat())
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def _serialize_appends(connection):
    """Two appends must never read the same last hash: hold a lock until commit."""
    if connection.dialect.name == "postgresql":
        connection.execute(ADVISORY_LOCK)
    else:
        begin_write(db.session)


def client_address():
    return request.remote_addr if has_request_context() else None


CURRENT_USER = object()


def _signed_in_user():
    if has_request_context() and current_user.is_authenticated:
        return current_user.id
    return None


def record(action, *, actor=CURRENT_USER, batch_id=None, event_id=None, details=None, address=None):
    """Appends an entry; call it after the action's own writes, in the same transaction.

    The actor defaults to the signed-in user; pass None for an action without one.
    """
    if actor is CURRENT_USER:
        actor = _signed_in_user()
    values = {
        "created_at": utcnow().replace(microsecond=0),
        "action": action,
        "actor_id": getattr(actor, "id", actor),
        "code_batch_id": batch_id,
        "event_id": event_id,
        "address": address if address is not None else client_address(),
        "details": canonical_json(details or {}),
    }
    db.session.flush()  # the action's own pending writes go first, as the autoflush of a query would do
    connection = db.session.connection()
    _serialize_appends(connection)
    values["previous_hash"] = connection.execute(LAST_HASH).scalar() or GENESIS_HASH
    values["entry_hash"] = _digest(values)
    connection.execute(INSERT_ENTRY, values)
    return values["entry_hash"]


def verify_chain(batch_size=5000):
    """Walks the log in order. Returns (entries checked, the first broken entry or None, why)."""
    expected_previous = GENESIS_HASH
    checked = 0
    last_id = 0
    while True:
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch_size)
        ).all()
        if not entries:
            return checked, None, None
        for entry in entries:
            if entry.previous_hash != expected_previous:
                return checked, entry, "previous_hash does not match the entry before"
            if entry_digest(entry) != entry.entry_hash:
                return checked, entry, "entry_hash does not match the entry's content"
            expected_previous = entry.entry_hash
            checked += 1
            last_id = entry.id
        db.session.expunge_all()
