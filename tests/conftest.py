"""Fixtures in the style of Flask's tutorial: app, client, runner, plus a real SMTP server.

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set.
The schema is built once per run by the migrations, never by create_all().
"""
import os
import re
import socket
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from flask_migrate import upgrade
from sqlalchemy import inspect, text

from config import database_url as normalize_database_url
from voting import create_app
from voting.extensions import db

from tests import factories

# The demo writes its trustees' shares into the instance folder: the suite's go to its own.
os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="voting-test-instance-"))

CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
LINK_PATTERN = re.compile(r"https?://\S+")


def csrf_token(html):
    match = CSRF_PATTERN.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@dataclass
class Mailbox:
    messages: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def clear(self):
        with self.lock:
            self.messages.clear()

    def to(self, address):
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    def last_link(self, address):
        mails = self.to(address)
        assert mails, f"no mail to {address}"
        body = mails[-1].get_content()
        links = LINK_PATTERN.findall(body)
        assert links, f"no link in the mail to {address}"
        return links[0]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def mailbox(smtp_server):
    smtp_server.handler.clear()
    return smtp_server.handler


def _drop_everything(connection):
    inspector = inspect(connection)
    tables = inspector.get_table_names()
    if connection.dialect.name == "postgresql":
        for table in tables:
            connection.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
    else:
        connection.execute(text("PRAGMA foreign_keys=OFF"))
        for table in tables:
            connection.execute(text(f'DROP TABLE IF EXISTS "{table}"'))
        connection.execute(text("PRAGMA foreign_keys=ON"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        return normalize_database_url(configured)
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "voting-test.sqlite3")


@pytest.fixture(scope="session")
def migrated_database(database_url, tmp_path_factory):
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        with db.engine.begin() as connection:
            _drop_everything(connection)
        upgrade()
        db.engine.dispose()
    return database_url


def _empty_all_tables(app):
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            names = [t.name for t in db.metadata.sorted_tables]
            if connection.dialect.name == "postgresql":
                connection.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(db.metadata.sorted_tables):
                    connection.execute(table.delete())


def app_on_empty_tables(database_url, smtp_server, **settings):
    """Yields a testing app on the migrated database, its tables emptied before and after."""
    app = create_app(
        {
            "APP_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "MAIL_SERVER": smtp_server.hostname,
            "MAIL_PORT": smtp_server.port,
            "SERVER_NAME": None,
            **settings,
        }
    )
    _empty_all_tables(app)
    yield app
    _empty_all_tables(app)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(migrated_database, smtp_server):
    yield from app_on_empty_tables(migrated_database, smtp_server)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Browserless:
    """Form posting with the page's CSRF token, as a browser would."""

    def __init__(self, client):
        self.client = client

    def token(self, url="/login"):
        return csrf_token(self.client.get(url).get_data(as_text=True))

    def post(self, url, data=None, *, form_url=None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.token(form_url or url))
        return self.client.post(url, data=data, **kwargs)

    def login(self, email, password=factories.PASSWORD):
        return self.post("/login", {"email": email, "password": password})

    def logout(self):
        return self.post("/logout", form_url="/")


@pytest.fixture
def web(client):
    return Browserless(client)


@pytest.fixture
def make_user(app):
    def make(role="resident", **kwargs):
        with app.app_context():
            user = factories.user(role, **kwargs)
            db.session.commit()
            return factories.Snapshot.of(user)

    return make


@pytest.fixture
def make_event(app):
    def make(**kwargs):
        with app.app_context():
            event = factories.event(**kwargs)
            db.session.commit()
            return factories.Snapshot.of(event)

    return make


@pytest.fixture
def login_as(web, make_user):
    """Creates a user of the role and logs the test client in as that user."""

    def login(role, **kwargs):
        user = make_user(role, **kwargs)
        response = web.login(user.email)
        assert response.status_code == 302, "login failed"
        return user

    return login


@pytest.fixture
def one_hour():
    return timedelta(hours=1)


class LiveServer:
    """The app served over real HTTP by Werkzeug in a background thread."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "test-artifacts")


@pytest.fixture(scope="session")
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is missing: `make test` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def screenshot_dir():
    os.makedirs(ARTIFACTS, exist_ok=True)
    return ARTIFACTS


class GunicornServer:
    """The app under gunicorn in its own processes, on the suite's database."""

    def __init__(self, database_url, workers=2, threads=4):
        self.database_url = database_url
        self.workers, self.threads = workers, threads
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        import subprocess
        import sys
        import time
        import urllib.request

        root = os.path.dirname(os.path.dirname(__file__))
        env = dict(os.environ, APP_ENV="testing", DATABASE_URL=self.database_url, PYTHONPATH=root)
        gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
        self.process = subprocess.Popen(
            [gunicorn, "--workers", str(self.workers), "--threads", str(self.threads), "--bind",
             f"127.0.0.1:{self.port}", "--graceful-timeout", "2", "--log-level", "warning", "wsgi:app"],
            cwd=root, env=env,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/login", timeout=2).read()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def kill(self):
        """SIGKILL to the master and every worker: nothing gets to clean up."""
        import signal
        import subprocess

        children = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout.split()
        for pid in [self.process.pid, *map(int, children)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except Exception:
                self.kill()


@pytest.fixture
def gunicorn_server(app, migrated_database):
    server = GunicornServer(migrated_database)
    server.start()
    yield server
    server.stop()


def browser_log_in(page, base_url, email, password=factories.PASSWORD):
    """Signs in through the login form, as a person would, and waits to leave the page."""
    page.goto(f"{base_url}/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def browser_contexts(chromium):
    """Makes Korean browser contexts and closes them after the test, even when it fails."""
    made = []

    def make(**kwargs):
        kwargs.setdefault("locale", "ko-KR")
        context = chromium.new_context(**kwargs)
        context.set_default_timeout(10_000)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def english(web):
    """Switches the client's session to English, for exact message checks."""
    assert web.post("/language", {"lang": "en", "next": "/"}, form_url="/").status_code == 302


@pytest.fixture
def db_read(app):
    """Runs a function with a fresh session inside an app context and returns its result."""

    def read(function):
        with app.app_context():
            try:
                return function(db.session)
            finally:
                db.session.remove()

    return read


@pytest.fixture
def make_nomination(app):
    def make(event_id, nominator_id, **kwargs):
        with app.app_context():
            record = factories.nomination(event_id, nominator_id=nominator_id, **kwargs)
            db.session.commit()
            return record.id

    return make


@pytest.fixture
def event(make_event):
    """An open event in its nominating window."""
    return make_event(state="open", phase="nominating")


def database_rows(app):
    """Every row of every table, in primary-key order: "nothing changed" means exactly that."""
    with app.app_context():
        with db.engine.connect() as connection:
            return {
                table.name: [tuple(row) for row in connection.execute(
                    table.select().order_by(*table.primary_key.columns))]
                for table in db.metadata.sorted_tables
            }
