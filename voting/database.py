"""Database plumbing shared by all areas: SQLite pragmas, a UTC datetime type, write locks."""
import sqlite3
import time
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator


def configure_sqlite(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    options.setdefault("connect_args", {}).setdefault("timeout", 30)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def utcnow():
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC on every backend; always hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware one")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


LOCK_RETRY_FIRST_S, LOCK_RETRY_MAX_S = 0.00005, 0.001


def begin_write(session):
    """Makes the session's transaction hold the write lock now.

    pysqlite opens a transaction only before INSERT, UPDATE or DELETE, so a read
    followed by a write is not atomic, and a SAVEPOINT outside a transaction would
    commit on release. BEGIN IMMEDIATE takes SQLite's single write lock; PostgreSQL
    needs nothing here.

    A busy lock is tried again every 50 µs to 1 ms rather than by SQLite's own busy
    handler, which sleeps 1, 2, 5, 10, 15, 20, 25... ms between tries while a ballot
    holds the lock for about half a millisecond: a waiting worker would mostly sleep
    while the lock is free. It gives up after the connection's busy_timeout, as SQLite
    would, and leaves that setting as it was.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw.in_transaction:
        return
    info = connection.connection.info
    if "busy_timeout_ms" not in info:
        info["busy_timeout_ms"] = raw.execute("PRAGMA busy_timeout").fetchone()[0]
    deadline = time.monotonic() + info["busy_timeout_ms"] / 1000
    pause = LOCK_RETRY_FIRST_S
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(2 * pause, LOCK_RETRY_MAX_S)
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(info['busy_timeout_ms'])}")


def _is_busy(error):
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY or "locked" in str(error)


@contextmanager
def savepoint(session):
    """A SAVEPOINT whose release never commits, on SQLite as on PostgreSQL."""
    begin_write(session)
    with session.begin_nested():
        yield
