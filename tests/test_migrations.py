"""The schema comes from the migrations alone, and they match the models both ways."""
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from config import database_url as normalize_database_url
from voting import create_app
from voting.extensions import db


@pytest.fixture
def empty_database_url(tmp_path):
    """A database with nothing in it, of the kind the suite runs on."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if not configured:
        yield "sqlite:///" + str(tmp_path / "empty.sqlite3")
        return
    url = make_url(normalize_database_url(configured))
    name = f"{url.database}_migrations"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _differences(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_app_start_creates_no_tables(empty_database_url):
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        app.test_client().get("/login")
        assert inspect(db.engine).get_table_names() == []
        db.engine.dispose()


def test_upgrade_gives_exactly_the_models_and_downgrade_undoes_it(empty_database_url):
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {t.name for t in db.metadata.sorted_tables} <= tables
        assert _differences(app) == []

        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}

        upgrade()
        assert _differences(app) == []
        db.engine.dispose()


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path):
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("SQLite pragmas are checked on the SQLite run")
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "p.sqlite3")})
    with app.app_context():
        with db.engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.engine.dispose()
