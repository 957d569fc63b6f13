"""Migration 0005 on a database that has votes in it, both ways.

Events voted under 0004 (participations keyed by account or card) are kept: each account
that voted and each used card becomes one elector of that event, and every participation
points at it. The downgrade gives every participation its account or card back, and is
refused, changing nothing, when a vote has neither (a personal link's).
"""
import os
from datetime import datetime, timedelta

import pytest
from alembic import command
from flask import current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from config import database_url as normalize_database_url
from voting import create_app
from voting.extensions import db

T0 = datetime(2019, 12, 13, 5, 0)  # naive UTC, as stored

ORGANIZER, RESIDENT_A, RESIDENT_B, OFFICIAL_C, RESIDENT_D, JUDGE = 1, 2, 3, 4, 5, 6
STAFF = 7
EVENT_2019, EVENT_2018 = 1, 2
PRACTICE_2019, PERSON_2019, PRACTICE_2018 = 10, 11, 20
# code id: (batch id, event, group)
CODES = {1000: (100, EVENT_2019, "resident"), 1001: (100, EVENT_2019, "resident"), 1002: (100, EVENT_2019, "resident"),
         1010: (101, EVENT_2019, "official"), 1020: (102, EVENT_2018, "resident")}
CATEGORY_EVENT = {PRACTICE_2019: EVENT_2019, PERSON_2019: EVENT_2019, PRACTICE_2018: EVENT_2018}
# participation id: (category, user, code, group, channel, minutes after T0), as 0004 had them
PARTICIPATIONS = {
    1: (PRACTICE_2019, RESIDENT_A, None, "resident", "online", 0),
    2: (PERSON_2019, RESIDENT_A, None, "resident", "online", 1),
    3: (PRACTICE_2018, RESIDENT_A, None, "resident", "online", 2),  # another event: another elector
    4: (PRACTICE_2019, RESIDENT_B, None, "resident", "online", 3),
    5: (PRACTICE_2019, OFFICIAL_C, None, "official", "online", 4),
    6: (PERSON_2019, OFFICIAL_C, None, "official", "online", 5),
    7: (PRACTICE_2019, None, 1000, "resident", "onsite", 6),
    8: (PERSON_2019, None, 1000, "resident", "onsite", 7),
    9: (PRACTICE_2019, None, 1001, "resident", "onsite", 8),
    10: (PRACTICE_2019, None, 1010, "official", "onsite", 9),
    11: (PRACTICE_2018, None, 1020, "resident", "onsite", 10),
}
# (event, kind, user or code, group): one per account that voted and card that was used, per event
EXPECTED_ELECTORS = {
    (EVENT_2019, "account", RESIDENT_A, "resident"), (EVENT_2019, "account", RESIDENT_B, "resident"),
    (EVENT_2019, "account", OFFICIAL_C, "official"),
    (EVENT_2019, "card", 1000, "resident"), (EVENT_2019, "card", 1001, "resident"),
    (EVENT_2019, "card", 1010, "official"),
    (EVENT_2018, "account", RESIDENT_A, "resident"), (EVENT_2018, "card", 1020, "resident"),
}


@pytest.fixture
def empty_database_url(tmp_path):
    """A database with nothing in it, of the kind the suite runs on (as in tests/test_migrations.py)."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if not configured:
        yield "sqlite:///" + str(tmp_path / "electors-migration.sqlite3")
        return
    url = make_url(normalize_database_url(configured))
    name = f"{url.database}_electors_migration"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def migration_app(empty_database_url):
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _insert(connection, table, **values):
    columns = ", ".join(values)
    connection.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in values)})"), values)


def _seed_0004(connection):
    """Two events voted under 0004: accounts and cards, both groups, one account in both events."""
    for event_id, year in ((EVENT_2019, 2019), (EVENT_2018, 2018)):
        start = T0.replace(year=year)
        _insert(connection, "events", id=event_id, name=f"{year} 협치 성과 공유 파티", year=year, description="",
                state="open", nominate_opens_at=start - timedelta(days=40), nominate_closes_at=start - timedelta(days=30),
                vote_opens_at=start - timedelta(days=10), vote_closes_at=start + timedelta(days=1),
                judge_opens_at=start - timedelta(days=10), judge_closes_at=start + timedelta(days=2), created_at=start)
    for category_id, event_id in CATEGORY_EVENT.items():
        _insert(connection, "categories", id=category_id, event_id=event_id, name=f"부문 {category_id}", description="",
                kind="practice", position=category_id, max_approvals=2, weight_resident=40, weight_official=30,
                weight_judges=30, vote_normalization="top", judge_aggregation="mean", tie_break="judges",
                allow_self_approval=False)
    for user_id, role in ((ORGANIZER, "organizer"), (RESIDENT_A, "resident"), (RESIDENT_B, "resident"),
                          (OFFICIAL_C, "official"), (RESIDENT_D, "resident"), (JUDGE, "judge")):
        _insert(connection, "users", id=user_id, email=f"user{user_id}@migration.example", name=f"사용자 {user_id}",
                role=role, session_token=f"{user_id:032x}", email_verified_at=T0, is_enabled=True, created_at=T0)
    for batch_id, event_id, group in ((100, EVENT_2019, "resident"), (101, EVENT_2019, "official"),
                                      (102, EVENT_2018, "resident")):
        size = sum(1 for b, _e, _g in CODES.values() if b == batch_id)
        _insert(connection, "onsite_code_batches", id=batch_id, event_id=event_id, voting_group=group, label="",
                size=size, created_at=T0, created_by_id=ORGANIZER)
    for code_id, (batch_id, _event, _group) in CODES.items():
        _insert(connection, "onsite_codes", id=code_id, batch_id=batch_id, code_hash=f"{code_id:064x}")
    for event_id in CATEGORY_EVENT.values():
        if not connection.execute(text(f"SELECT 1 FROM fields WHERE id = {event_id}")).first():
            _insert(connection, "fields", id=event_id, event_id=event_id, name="기후환경", position=0)
    for category_id, event_id in CATEGORY_EVENT.items():  # one finalist each, a judge assigned to it
        _insert(connection, "nominations", id=category_id, event_id=event_id, category_id=category_id,
                nominator_id=RESIDENT_D, state="finalist", title=f"후보 {category_id}", summary="", description="",
                field_id=event_id, created_at=T0, updated_at=T0)
        _insert(connection, "judge_assignments", id=category_id, category_id=category_id, judge_id=JUDGE,
                nomination_id=category_id)
    for participation_id, (category_id, user_id, code_id, group, channel, minutes) in PARTICIPATIONS.items():
        _insert(connection, "participations", id=participation_id, category_id=category_id, user_id=user_id,
                code_id=code_id, voting_group=group, channel=channel, created_at=T0 + timedelta(minutes=minutes))
        _insert(connection, "ballots", id=f"{participation_id:032x}", category_id=category_id, voting_group=group,
                channel=channel, receipt_hash=f"{participation_id:064x}")
        _insert(connection, "ballot_approvals", ballot_id=f"{participation_id:032x}", nomination_id=category_id,
                category_id=category_id, voting_group=group, channel=channel, opens_ballot=True)


def _rows(connection, query):
    return sorted(tuple(row) for row in connection.execute(text(query)))


OLD_TABLES = ("events", "categories", "fields", "users", "nominations", "judge_assignments", "onsite_code_batches",
              "onsite_codes", "participations", "ballots", "ballot_approvals")


def _counts(connection):
    """Rows of every table the votes hang on: SQLite's batch copies must lose none (no cascade)."""
    return {table: connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar() for table in OLD_TABLES}


def _version(connection):
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _voting_rows(connection):
    """What 0005 must not change of a participation: all but who it belongs to."""
    return _rows(connection, "SELECT id, category_id, voting_group, channel, created_at FROM participations")


def _upgraded_with_0004_votes():
    upgrade(revision="0004")
    with db.engine.begin() as connection:
        _seed_0004(connection)
        before = _counts(connection), _voting_rows(connection)
    upgrade(revision="0005")
    return before


def test_upgrade_makes_one_elector_per_account_and_card_and_downgrade_gives_them_back(migration_app):
    (counts, voting_rows) = _upgraded_with_0004_votes()

    with db.engine.connect() as connection:
        assert _version(connection) == "0005"
        assert _counts(connection) == counts
        assert _voting_rows(connection) == voting_rows
        assert {c["name"] for c in inspect(connection).get_columns("participations")} >= {"elector_id"}
        assert not {"user_id", "code_id"} & {c["name"] for c in inspect(connection).get_columns("participations")}
        electors = _rows(connection, "SELECT event_id, kind, COALESCE(user_id, code_id), voting_group FROM electors")
        assert len(electors) == len(EXPECTED_ELECTORS)  # exactly one each, no twin
        assert set(electors) == EXPECTED_ELECTORS
        assert _rows(connection, "SELECT kind FROM electors WHERE kind = 'card' AND user_id IS NOT NULL") == []
        pointed = {row[0]: row[1:] for row in connection.execute(text(
            "SELECT p.id, e.event_id, c.event_id, e.kind, e.user_id, e.code_id, e.voting_group, p.voting_group "
            "FROM participations p JOIN electors e ON e.id = p.elector_id JOIN categories c ON c.id = p.category_id"))}
    assert set(pointed) == set(PARTICIPATIONS)
    for participation_id, (category_id, user_id, code_id, group, _channel, _minutes) in PARTICIPATIONS.items():
        elector_event, category_event, kind, elector_user, elector_code, elector_group, vote_group = pointed[participation_id]
        assert elector_event == category_event == CATEGORY_EVENT[category_id]
        assert (kind, elector_user, elector_code) == (("account", user_id, None) if user_id else ("card", None, code_id))
        assert elector_group == vote_group == group

    # After the upgrade, votes that the old schema can hold: an account with a confirmed phone votes
    # online, and a card bound to that phone at the desk votes on site in the other category.
    with db.engine.begin() as connection:
        _insert(connection, "electors", id=5000, event_id=EVENT_2019, voting_group="resident", kind="phone",
                user_id=RESIDENT_D, phone_hmac="d" * 64, phone_last4="0004", created_at=T0)
        _insert(connection, "card_bindings", code_id=1002, elector_id=5000, bound_at=T0, bound_by_id=ORGANIZER)
        _insert(connection, "participations", id=50, category_id=PRACTICE_2019, elector_id=5000,
                voting_group="resident", channel="online", created_at=T0 + timedelta(hours=1))
        _insert(connection, "participations", id=51, category_id=PERSON_2019, elector_id=5000,
                voting_group="resident", channel="onsite", created_at=T0 + timedelta(hours=2))

    downgrade(revision="0004")

    with db.engine.connect() as connection:
        assert _version(connection) == "0004"
        assert _counts(connection) == {**counts, "participations": counts["participations"] + 2}
        tables = set(inspect(connection).get_table_names())
        assert not tables & {"electors", "card_bindings", "roll_entries", "personal_links", "sms_challenges"}
        back = {row[0]: tuple(row[1:]) for row in connection.execute(
            text("SELECT id, category_id, user_id, code_id, voting_group, channel FROM participations"))}
    expected = {pid: (category, user, code, group, channel)
                for pid, (category, user, code, group, channel, _m) in PARTICIPATIONS.items()}
    expected[50] = (PRACTICE_2019, RESIDENT_D, None, "resident", "online")
    expected[51] = (PERSON_2019, None, 1002, "resident", "onsite")
    assert back == expected

    # The 0004 rule is back: one ballot per account (and per card) and category.
    with pytest.raises(IntegrityError):
        with db.engine.begin() as connection:
            _insert(connection, "participations", id=90, category_id=PRACTICE_2019, user_id=RESIDENT_A, code_id=None,
                    voting_group="resident", channel="online", created_at=T0)
    with pytest.raises(IntegrityError):
        with db.engine.begin() as connection:
            _insert(connection, "participations", id=91, category_id=PRACTICE_2019, user_id=None, code_id=None,
                    voting_group="resident", channel="online", created_at=T0)

    upgrade(revision="0005")  # and up again: the same electors come back
    with db.engine.connect() as connection:
        electors = _rows(connection, "SELECT event_id, kind, COALESCE(user_id, code_id), voting_group FROM electors")
    assert set(electors) == EXPECTED_ELECTORS | {(EVENT_2019, "account", RESIDENT_D, "resident"),
                                                  (EVENT_2019, "card", 1002, "resident")}


def test_downgrade_keeps_staff_who_are_in_the_audit_log_out_of_the_old_roles(migration_app):
    """Staff did things at the desk that the audit log names them for; the old schema has no staff
    role, and deleting them would break the log's references: they stay, disabled, as residents."""
    _upgraded_with_0004_votes()
    with db.engine.begin() as connection:
        _insert(connection, "users", id=STAFF, email="staff@migration.example", name="행사 도우미", role="staff",
                session_token="7" * 32, email_verified_at=T0, is_enabled=True, created_at=T0)
        _insert(connection, "audit_log", id=1, created_at=T0, action="desk.bind", actor_id=STAFF, details="{}",
                previous_hash="0" * 64, entry_hash="1" * 64)
    downgrade(revision="0004")
    with db.engine.connect() as connection:
        assert _version(connection) == "0004"
        assert _rows(connection, f"SELECT role, is_enabled FROM users WHERE id = {STAFF}") == [("resident", False)]
        assert _rows(connection, "SELECT actor_id FROM audit_log") == [(STAFF,)]


def _everything(connection):
    inspector = inspect(connection)
    return {
        table: _rows(connection, f"SELECT * FROM {table}")
        for table in inspector.get_table_names()
    }, {table: sorted(c["name"] for c in inspector.get_columns(table)) for table in inspector.get_table_names()}


def test_downgrade_is_refused_and_changes_nothing_when_a_personal_link_voted(migration_app):
    _upgraded_with_0004_votes()
    with db.engine.begin() as connection:
        _insert(connection, "roll_entries", id=1, event_id=EVENT_2019, name="김영희", birth_date=T0.date(),
                phone_hmac="e" * 64, phone_last4="0005", district="서대문구", dong="연희동", voting_group="resident",
                created_at=T0, updated_at=T0)
        # A roll elector with no account and no card: its vote came through a personal link.
        _insert(connection, "electors", id=6000, event_id=EVENT_2019, voting_group="resident", kind="roll",
                phone_hmac="e" * 64, phone_last4="0005", roll_entry_id=1, created_at=T0)
        _insert(connection, "participations", id=60, category_id=PRACTICE_2019, elector_id=6000,
                voting_group="resident", channel="online", created_at=T0 + timedelta(hours=3))
    with db.engine.connect() as connection:
        before = _everything(connection)

    # Alembic itself, not Flask-Migrate's wrapper (which turns the error into an exit status).
    with pytest.raises(RuntimeError, match="personal link"):
        command.downgrade(current_app.extensions["migrate"].migrate.get_config(), "0004")
    with pytest.raises(SystemExit):  # `flask db downgrade` fails
        downgrade(revision="0004")

    db.engine.dispose()
    with db.engine.connect() as connection:
        assert _version(connection) == "0005"
        assert _everything(connection) == before
