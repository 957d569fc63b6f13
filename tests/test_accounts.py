"""Behaviour of accounts: signup, email confirmation, login, logout, password reset, roles, rate limits."""
import html
import re
import threading
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from tests import factories
from voting import create_app
from voting.accounts import operations
from voting.accounts.models import Role, User
from voting.extensions import db
from voting.navigation import safe_next

NEW_PASSWORD = "a-brand-new-password"
# The Korean catalogue is still being written: accept its wording or the English source text.
FORM_EXPIRED = ("The form has expired", "유효 시간", "만료")
TOO_MANY = ("Too many attempts", "시도 횟수", "너무 많")


# ---------------------------------------------------------------- helpers


def page_of(response):
    return response.get_data(as_text=True)


def any_in(page, *texts):
    return any(t in page for t in texts)


def path_of(link):
    parts = urlsplit(link)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def field_tag(page, field_id):
    match = re.search(r'<(?:input|select|textarea)\b[^>]*\bid="%s"[^>]*>' % re.escape(field_id), page)
    assert match, f"no field {field_id} on the page"
    return match.group(0)


def field_error(page, field_id):
    match = re.search(r'<p class="error" id="%s-error">(.*?)</p>' % re.escape(field_id), page, re.S)
    return html.unescape(match.group(1)) if match else None


def assert_field_error(page, field_id, message):
    tag = field_tag(page, field_id)
    assert 'aria-invalid="true"' in tag, tag
    assert f"{field_id}-error" in tag, tag
    error = field_error(page, field_id)
    assert error is not None, f"no error shown next to {field_id}"
    assert message in error, error


def assert_field_ok(page, field_id):
    assert "aria-invalid" not in field_tag(page, field_id)
    assert field_error(page, field_id) is None


def english(web):
    """Switches the client's session to English, for exact message checks."""
    response = web.post("/language", {"lang": "en", "next": "/"}, form_url="/")
    assert response.status_code == 302


def user_by_email(app, email):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        return factories.Snapshot.of(user) if user else None


def user_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def is_logged_in(client):
    response = client.get("/account")
    return response.status_code == 200


def signup_data(**overrides):
    data = {
        "name": "김서연",
        "email": "seoyeon@example.com",
        "password": "a-long-password",
        "password_confirm": "a-long-password",
    }
    data.update(overrides)
    return data


@pytest.fixture
def new_web(app, web):
    """Another browser: its own cookies, the same app."""
    return lambda: type(web)(app.test_client())


@pytest.fixture
def resident_signed_up(app, web, mailbox):
    response = web.post("/signup", signup_data())
    assert response.status_code == 302
    return user_by_email(app, "seoyeon@example.com")


# ---------------------------------------------------------------- signup and email confirmation


def test_signup_creates_a_logged_in_resident_and_mails_a_confirmation_link(app, web, client, mailbox):
    response = web.post("/signup", signup_data(email="  SeoYeon@Example.COM "))
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/account"

    user = user_by_email(app, "seoyeon@example.com")
    assert user is not None, "the address is stored in lower case"
    assert user.role == Role.RESIDENT
    assert user.name == "김서연"
    assert user.email_verified_at is None
    assert user.is_enabled
    assert check_password_hash(user.password_hash, "a-long-password")
    assert user_count(app) == 1

    account = client.get("/account")
    assert account.status_code == 200
    page = page_of(account)
    assert "seoyeon@example.com" in page
    assert 'action="/verify/resend"' in page, "the account page offers to send the link again"

    mails = mailbox.to("seoyeon@example.com")
    assert len(mails) == 1
    body = mails[0].get_content()
    assert "김서연" in body
    link = mailbox.last_link("seoyeon@example.com")
    assert urlsplit(link).path.startswith("/verify/")


def test_following_the_confirmation_link_verifies_the_email(app, client, mailbox, resident_signed_up):
    link = mailbox.last_link(resident_signed_up.email)
    response = client.get(path_of(link))
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/account"
    assert user_by_email(app, resident_signed_up.email).email_verified_at is not None

    # Opening it again is harmless and keeps the first confirmation time.
    first = user_by_email(app, resident_signed_up.email).email_verified_at
    assert client.get(path_of(link)).status_code == 302
    assert user_by_email(app, resident_signed_up.email).email_verified_at == first


def test_confirmation_link_works_when_logged_out(app, web, client, mailbox, resident_signed_up):
    link = mailbox.last_link(resident_signed_up.email)
    web.logout()
    assert not is_logged_in(client)
    response = client.get(path_of(link))
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert user_by_email(app, resident_signed_up.email).email_verified_at is not None


def test_unconfirmed_resident_cannot_nominate_until_confirmed(app, client, mailbox, make_event, resident_signed_up):
    event = make_event()
    refused = client.get(f"/events/{event.id}/nominate")
    assert refused.status_code == 403
    page = page_of(refused)
    assert resident_signed_up.email in page, "the page tells where the link was sent"
    assert 'action="/verify/resend"' in page, "the page offers to send the link again"
    assert 'name="title"' not in page, "no nomination form before confirmation"

    client.get(path_of(mailbox.last_link(resident_signed_up.email)))

    allowed = client.get(f"/events/{event.id}/nominate")
    assert allowed.status_code == 200
    assert 'name="title"' in page_of(allowed)


def test_resend_sends_a_new_link_that_works(app, web, client, mailbox, resident_signed_up):
    mailbox.clear()
    response = web.post("/verify/resend", form_url="/account")
    assert response.status_code == 302
    mails = mailbox.to(resident_signed_up.email)
    assert len(mails) == 1
    assert user_by_email(app, resident_signed_up.email).email_verified_at is None

    assert client.get(path_of(mailbox.last_link(resident_signed_up.email))).status_code == 302
    assert user_by_email(app, resident_signed_up.email).email_verified_at is not None

    # Once confirmed, asking again sends nothing.
    mailbox.clear()
    assert web.post("/verify/resend", form_url="/account").status_code == 302
    assert mailbox.to(resident_signed_up.email) == []


def test_resend_needs_a_logged_in_resident(client, login_as, web, mailbox):
    anonymous = client.post("/verify/resend")
    assert anonymous.status_code in (302, 400)
    assert mailbox.messages == []
    login_as("official")
    assert web.post("/verify/resend", form_url="/account").status_code == 403
    assert mailbox.messages == []


def test_expired_confirmation_link_is_refused(app, web, client, mailbox, resident_signed_up):
    english(web)
    link = path_of(mailbox.last_link(resident_signed_up.email))
    app.config["EMAIL_VERIFY_MAX_AGE"] = -1
    response = client.get(link)
    assert response.status_code == 400
    assert "This confirmation link has expired." in page_of(response)
    assert user_by_email(app, resident_signed_up.email).email_verified_at is None


class _OldSigner(TimestampSigner):
    def get_timestamp(self):
        return 1_500_000_000  # July 2017


def test_old_confirmation_token_is_refused_as_expired(app, web, client, resident_signed_up):
    english(web)
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="voting.verify-email", signer=_OldSigner)
    token = serializer.dumps({"u": resident_signed_up.id, "e": resident_signed_up.email})
    response = client.get(f"/verify/{token}")
    assert response.status_code == 400
    assert "This confirmation link has expired." in page_of(response)
    assert user_by_email(app, resident_signed_up.email).email_verified_at is None


def test_tampered_confirmation_link_is_refused(app, web, client, mailbox, resident_signed_up):
    from voting.security import make_token

    english(web)
    token = urlsplit(mailbox.last_link(resident_signed_up.email)).path.rsplit("/", 1)[1]
    with app.app_context():
        other_purpose = make_token("reset-password", {"u": resident_signed_up.id, "e": resident_signed_up.email})
    tampered = {
        "flipped": token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:],
        "truncated": token[:-6],
        "other purpose": other_purpose,
        "garbage": "not-a-token",
    }
    for how, bad in tampered.items():
        response = client.get(f"/verify/{bad}")
        assert response.status_code == 400, how
        assert "This confirmation link is not valid." in page_of(response), how
    assert user_by_email(app, resident_signed_up.email).email_verified_at is None


def test_confirmation_link_for_an_old_address_is_refused(app, web, client, mailbox, resident_signed_up):
    english(web)
    link = path_of(mailbox.last_link(resident_signed_up.email))
    with app.app_context():
        user = db.session.get(User, resident_signed_up.id)
        user.email = "changed@example.com"
        db.session.commit()
    response = client.get(link)
    assert response.status_code == 400
    assert "not valid" in page_of(response)
    assert user_by_email(app, "changed@example.com").email_verified_at is None


def test_signup_page_is_korean_by_default(client):
    response = client.get("/signup")
    assert response.status_code == 200
    page = page_of(response)
    assert '<html lang="ko">' in page
    for field_id in ("name", "email", "password", "password_confirm"):
        assert_field_ok(page, field_id)


def test_logged_in_user_is_sent_away_from_signup(client, login_as):
    login_as("resident")
    response = client.get("/signup")
    assert response.status_code == 302


# ---------------------------------------------------------------- signup: bad input


SIGNUP_ERRORS = [
    ("missing name", {"name": ""}, "name", "This field is required."),
    ("blank name", {"name": "   "}, "name", "This field is required."),
    ("missing email", {"email": ""}, "email", "This field is required."),
    ("bad email", {"email": "not-an-address"}, "email", "Enter a valid email address."),
    ("email without domain dot", {"email": "someone@"}, "email", "Enter a valid email address."),
    ("missing password", {"password": "", "password_confirm": ""}, "password", "This field is required."),
    ("short password", {"password": "short", "password_confirm": "short"}, "password", "Use between 10 and 128 characters."),
    ("mismatched passwords", {"password_confirm": "a-different-password"}, "password_confirm", "The two passwords differ."),
    ("overlong name", {"name": "가" * 101}, "name", "Use at most 100 characters."),
    ("control characters", {"name": "김\x07서연"}, "name", "Remove invisible control characters."),
]


def test_signup_bad_input_is_shown_next_to_the_field(app, web, client, mailbox):
    english(web)
    for case, overrides, field_id, message in SIGNUP_ERRORS:
        response = web.post("/signup", signup_data(**overrides), form_url="/signup")
        assert response.status_code == 200, case
        page = page_of(response)
        assert_field_error(page, field_id, message)
        assert "Please correct the marked fields. Nothing was saved yet." in page, case
        # The other fields keep no error, and what was typed is kept (but never the password).
        for other in {"name", "email", "password", "password_confirm"} - {field_id}:
            if other in overrides:
                continue
            assert_field_ok(page, other)
        if "email" not in overrides:
            assert 'value="seoyeon@example.com"' in field_tag(page, "email"), case
        assert "a-long-password" not in page, case
    assert user_count(app) == 0
    assert mailbox.messages == []
    assert not is_logged_in(client)


def test_name_of_exactly_100_characters_is_accepted(app, web):
    response = web.post("/signup", signup_data(name="가" * 100))
    assert response.status_code == 302
    assert user_by_email(app, "seoyeon@example.com").name == "가" * 100


def test_signup_errors_in_korean_mark_the_fields(app, web):
    response = web.post("/signup", signup_data(email="bad", password="short", password_confirm="other"))
    assert response.status_code == 200
    page = page_of(response)
    assert '<html lang="ko">' in page
    for field_id in ("email", "password", "password_confirm"):
        assert 'aria-invalid="true"' in field_tag(page, field_id)
        assert field_error(page, field_id)
    assert user_count(app) == 0


def test_signup_with_an_existing_email_is_refused(app, web, client, make_user, mailbox):
    existing = make_user("resident", email="taken@example.com")
    english(web)
    for email in ["taken@example.com", "TAKEN@Example.com", " Taken@example.COM "]:
        response = web.post("/signup", signup_data(email=email), form_url="/signup")
        assert response.status_code == 200, email
        assert_field_error(page_of(response), "email", "An account with this email address exists.")
    assert user_count(app) == 1
    assert user_by_email(app, "taken@example.com").password_hash == existing.password_hash
    assert mailbox.messages == []
    assert not is_logged_in(client)


def test_signup_without_csrf_token_is_refused(app, client, mailbox):
    client.get("/signup")
    response = client.post("/signup", data=signup_data())
    assert response.status_code == 400
    assert any_in(page_of(response), *FORM_EXPIRED)
    assert user_count(app) == 0
    assert mailbox.messages == []


def test_signup_with_a_wrong_csrf_token_is_refused_in_english(app, web, client):
    english(web)
    client.get("/signup")
    response = client.post("/signup", data=signup_data(csrf_token="forged"))
    assert response.status_code == 400
    assert "The form has expired" in page_of(response)
    assert user_count(app) == 0


def test_email_taken_between_check_and_insert_is_reported_not_500(app, web, make_user, monkeypatch):
    """The database's unique index is the last word when the first check missed a new account."""
    make_user("resident", email="taken@example.com")
    monkeypatch.setattr(operations, "find_user_by_email", lambda email: None)
    english(web)
    response = web.post("/signup", signup_data(email="taken@example.com"), form_url="/signup")
    assert response.status_code == 200
    assert_field_error(page_of(response), "email", "An account with this email address exists.")
    assert user_count(app) == 1


def test_simultaneous_signups_with_one_email_make_one_account(app, new_web, monkeypatch):
    """Two browsers send the form at once; both pass the first check before either inserts."""
    original = operations.find_user_by_email
    both_checked = threading.Barrier(2, timeout=10)

    def racing_find(email):
        found = original(email)
        try:
            both_checked.wait()
        except threading.BrokenBarrierError:
            pass
        return found

    monkeypatch.setattr(operations, "find_user_by_email", racing_find)
    browsers = [new_web(), new_web()]
    for browser in browsers:
        english(browser)
    tokens = [browser.token("/signup") for browser in browsers]
    responses = [None, None]
    errors = []

    def submit(index):
        try:
            data = signup_data(name=f"사람 {index}", email="same@example.com", csrf_token=tokens[index])
            responses[index] = browsers[index].client.post("/signup", data=data)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 302], statuses
    loser = next(r for r in responses if r.status_code == 200)
    assert_field_error(page_of(loser), "email", "An account with this email address exists.")
    with app.app_context():
        accounts = db.session.scalars(select(User).where(User.email == "same@example.com")).all()
        assert len(accounts) == 1
    assert user_count(app) == 1


def test_sequential_signups_in_two_browsers(app, new_web):
    first, second = new_web(), new_web()
    english(second)
    assert first.post("/signup", signup_data(email="same@example.com")).status_code == 302
    response = second.post("/signup", signup_data(email="SAME@example.com"), form_url="/signup")
    assert response.status_code == 200
    assert_field_error(page_of(response), "email", "An account with this email address exists.")
    assert user_count(app) == 1


# ---------------------------------------------------------------- login and logout


def test_login_with_good_credentials(web, client, make_user):
    user = make_user("resident", email="kim@example.com")
    response = web.login("KIM@example.com")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/"
    page = page_of(client.get("/account"))
    assert "kim@example.com" in page
    assert user.name in page


def test_wrong_password_and_unknown_email_get_the_same_answer(web, client, make_user):
    make_user("resident", email="kim@example.com")
    english(web)
    answers = []
    for email, password in [("kim@example.com", "wrong-password-123"), ("nobody@example.com", factories.PASSWORD)]:
        response = web.login(email, password)
        assert response.status_code == 200
        page = page_of(response)
        assert_field_error(page, "password", "The email address or password is wrong.")
        assert "aria-invalid" not in field_tag(page, "email"), "the page does not say which of the two was wrong"
        assert f'value="{email}"' in field_tag(page, "email")
        assert password not in page
        assert not is_logged_in(client)
        answers.append(re.sub(r'value="[^"]*"', "", page))
    assert answers[0] == answers[1], "a wrong password and an unknown address look the same"


def test_login_bad_input(web, client):
    english(web)
    response = web.login("not-an-address", "")
    assert response.status_code == 200
    page = page_of(response)
    assert_field_error(page, "email", "Enter a valid email address.")
    assert_field_error(page, "password", "This field is required.")


def test_disabled_user_cannot_log_in(web, client, make_user):
    user = make_user("official", enabled=False)
    english(web)
    response = web.login(user.email)
    assert response.status_code == 200
    assert_field_error(page_of(response), "password", "The email address or password is wrong.")
    assert not is_logged_in(client)


def test_invited_user_without_password_cannot_log_in(web, client, make_user):
    user = make_user("judge", password=None)
    response = web.login(user.email, "")
    assert response.status_code == 200
    response = web.login(user.email, "anything-at-all")
    assert response.status_code == 200
    assert not is_logged_in(client)


NEXT_CASES = [
    ("/account", "/account"),
    ("/my/nominations?x=1", "/my/nominations"),
    ("https://evil.example/steal", "/"),
    ("//evil.example/steal", "/"),
    ("/\\evil.example/steal", "/"),  # some browsers read a backslash as a slash: //evil.example
    ("/account\\x", "/"),
    ("/account\x00", "/"),
    ("/account\r\nSet-Cookie: x=1", "/"),
    ("/acc\x7fount", "/"),
    ("/acc\x85ount", "/"),  # a C1 control character
    ("/\t/evil.example", "/"),  # browsers drop tabs and newlines: //evil.example
    ("/\n/evil.example", "/"),
    ("http:/evil.example", "/"),
    ("javascript:alert(1)", "/"),
    ("account", "/"),
    ("", "/"),
]


def test_next_is_followed_only_for_same_site_paths(app, web, make_user, new_web):
    user = make_user("resident")
    for next_value, expected_path in NEXT_CASES:
        browser = new_web()
        response = browser.post(
            "/login", {"email": user.email, "password": factories.PASSWORD, "next": next_value}, form_url="/login"
        )
        assert response.status_code == 302, next_value
        location = urlsplit(response.headers["Location"])
        header = response.headers["Location"]
        assert location.netloc in ("", "localhost"), next_value
        assert not location.path.startswith("//") and "\\" not in header, next_value
        if expected_path is None:
            assert location.path.startswith("/") and not location.netloc, next_value
        else:
            assert location.path == expected_path, next_value
            assert "evil.example" not in header, next_value


def test_safe_next_refuses_backslashes_and_control_characters(app):
    with app.test_request_context():
        assert safe_next("/my/nominations?x=1") == "/my/nominations?x=1"
        assert safe_next("/이벤트/1") == "/이벤트/1"
        for target in ["/\\evil.example", "/a\\b", "/a\tb", "/a\nb", "/a\x00", "/a\x1b[0m", "/a\x7f", "/a\x9b"]:
            assert safe_next(target) == "/", repr(target)
            assert safe_next(target, "accounts.account") == "/account", repr(target)


def test_login_page_carries_next_from_the_query(client):
    page = page_of(client.get("/login?next=/account"))
    tag = field_tag(page, "next")
    assert 'value="/account"' in tag


def test_protected_page_sends_anonymous_users_to_login_and_back(web, client, make_user):
    user = make_user("resident")
    response = client.get("/account")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert "next=%2Faccount" in location.query
    login_page = page_of(client.get(path_of(response.headers["Location"])))
    assert 'value="/account"' in field_tag(login_page, "next")
    back = web.post("/login", {"email": user.email, "password": factories.PASSWORD, "next": "/account"}, form_url="/login")
    assert urlsplit(back.headers["Location"]).path == "/account"


def test_login_starts_a_fresh_session(web, client, make_user):
    """Nothing planted in the session before login survives it (session fixation)."""
    user = make_user("resident")
    english(web)
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        old_csrf = session.get("csrf_token")
    old_cookie = client.get_cookie("session").value
    assert old_csrf

    assert web.login(user.email).status_code == 302

    new_cookie = client.get_cookie("session").value
    assert new_cookie != old_cookie
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != old_csrf
        assert session["_user_id"].startswith(f"{user.id}:")
        assert session.get("lang") == "en", "the chosen language survives login"

    # The cookie from before login does not open the account.
    client.set_cookie("session", old_cookie)
    assert not is_logged_in(client)


def test_remember_me_sets_a_cookie_that_stops_working_after_a_password_change(app, web, client, make_user):
    user = make_user("resident")
    response = web.post("/login", {"email": user.email, "password": factories.PASSWORD, "remember": "y"}, form_url="/login")
    assert response.status_code == 302
    remember = client.get_cookie("remember_token")
    assert remember is not None

    # A new browser session with only the remember cookie is logged in.
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember.value)
    assert is_logged_in(fresh)

    with app.app_context():
        db.session.get(User, user.id).set_password(NEW_PASSWORD)
        db.session.commit()
    stale = app.test_client()
    stale.set_cookie("remember_token", remember.value)
    assert not is_logged_in(stale)


def test_logout_needs_post_and_csrf(web, client, login_as):
    login_as("resident")
    assert client.get("/logout").status_code == 405
    assert is_logged_in(client)

    no_token = client.post("/logout")
    assert no_token.status_code == 400
    assert any_in(page_of(no_token), *FORM_EXPIRED)
    assert is_logged_in(client)

    response = web.logout()
    assert response.status_code == 302
    assert not is_logged_in(client)


def test_logout_keeps_the_language(web, client, login_as):
    english(web)
    login_as("resident")
    web.logout()
    with client.session_transaction() as session:
        assert "_user_id" not in session
        assert session.get("lang") == "en"


# ---------------------------------------------------------------- login rate limit


def _empty_tables(app):
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture
def limited_app(migrated_database, smtp_server):
    built = []

    def build(**extra):
        config = {
            "APP_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": migrated_database,
            "MAIL_SERVER": smtp_server.hostname,
            "MAIL_PORT": smtp_server.port,
            "SERVER_NAME": None,
            "LOGIN_RATE_LIMIT": "3 per minute",
        }
        config.update(extra)
        app = create_app(config)
        _empty_tables(app)
        built.append(app)
        return app

    yield build
    for app in built:
        _empty_tables(app)
        with app.app_context():
            db.engine.dispose()


def _check_login_rate_limit(app, web_class):
    with app.app_context():
        user = factories.user("resident", email="limited@example.com")
        db.session.commit()
        user_id = user.id
    client = app.test_client()
    web = web_class(client)
    for attempt in range(3):
        response = web.post("/login", {"email": "limited@example.com", "password": "wrong-password-123"}, form_url="/login")
        assert response.status_code == 200, f"attempt {attempt + 1} should be answered normally"

    # The fourth POST is refused even with the right password, before it is checked.
    blocked = web.post("/login", {"email": "limited@example.com", "password": factories.PASSWORD}, form_url="/login")
    assert blocked.status_code == 429
    page = page_of(blocked)
    assert '<html lang="ko">' in page
    assert any_in(page, *TOO_MANY)
    assert "Retry-After" in blocked.headers or "X-RateLimit-Limit" in blocked.headers
    assert not is_logged_in(client)

    # Reading the page is not limited.
    for _ in range(5):
        assert client.get("/login").status_code == 200

    # Another address has its own count.
    other = web_class(app.test_client())
    response = other.client.post(
        "/login",
        data={"email": "limited@example.com", "password": factories.PASSWORD, "csrf_token": other.token("/login")},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert response.status_code == 302
    assert user_id


def test_fourth_login_post_from_one_address_is_refused(limited_app, web):
    app = limited_app()
    _check_login_rate_limit(app, type(web))


def _redis_available():
    try:
        import redis

        return redis.Redis(host="127.0.0.1", port=6379, db=15, socket_connect_timeout=0.5).ping()
    except Exception:
        return False


def test_login_rate_limit_with_redis_storage(limited_app, web):
    if not _redis_available():
        pytest.skip("no Redis answers at 127.0.0.1:6379")
    import redis

    connection = redis.Redis(host="127.0.0.1", port=6379, db=15)
    connection.flushdb()
    try:
        app = limited_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15")
        _check_login_rate_limit(app, type(web))
        assert connection.dbsize() > 0, "the counters were kept in Redis"
    finally:
        connection.flushdb()


# ---------------------------------------------------------------- password reset


def _ask_for_reset(web, email):
    return web.post("/password/forgot", {"email": email}, form_url="/password/forgot")


def test_password_reset_sets_a_new_password(app, web, client, make_user, mailbox, new_web):
    user = make_user("resident", email="reset@example.com")
    response = _ask_for_reset(web, "Reset@Example.com")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    mails = mailbox.to("reset@example.com")
    assert len(mails) == 1
    assert user.name in mails[0].get_content()
    link = path_of(mailbox.last_link("reset@example.com"))
    assert link.startswith("/password/reset/")

    form_page = client.get(link)
    assert form_page.status_code == 200
    assert "reset@example.com" in page_of(form_page)

    response = web.post(link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"

    assert not check_password_hash(user_by_email(app, "reset@example.com").password_hash, factories.PASSWORD)
    fresh = new_web()
    english(fresh)
    old = fresh.login("reset@example.com", factories.PASSWORD)
    assert old.status_code == 200
    assert "The email address or password is wrong." in page_of(old)
    assert fresh.login("reset@example.com", NEW_PASSWORD).status_code == 302


def test_reset_link_works_only_once(app, web, client, make_user, mailbox):
    make_user("resident", email="reset@example.com")
    _ask_for_reset(web, "reset@example.com")
    link = path_of(mailbox.last_link("reset@example.com"))
    assert web.post(link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}).status_code == 302
    hash_after_first_use = user_by_email(app, "reset@example.com").password_hash

    english(web)
    again = client.get(link)
    assert again.status_code == 400
    assert "This link is not valid or was already used." in page_of(again)
    csrf = web.token("/password/forgot")
    post_again = client.post(link, data={"password": "yet-another-password", "password_confirm": "yet-another-password", "csrf_token": csrf})
    assert post_again.status_code == 400
    assert user_by_email(app, "reset@example.com").password_hash == hash_after_first_use


def test_reset_ends_the_users_other_sessions(app, web, make_user, mailbox, new_web):
    make_user("official", email="busy@example.com")
    laptop, phone = new_web(), new_web()
    assert laptop.login("busy@example.com").status_code == 302
    assert is_logged_in(laptop.client)

    _ask_for_reset(phone, "busy@example.com")
    link = path_of(mailbox.last_link("busy@example.com"))
    assert phone.post(link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}).status_code == 302

    assert not is_logged_in(laptop.client), "the other session ended with the password change"
    assert laptop.login("busy@example.com", NEW_PASSWORD).status_code == 302
    assert is_logged_in(laptop.client)


def test_older_reset_links_stop_working_after_a_reset(app, web, client, make_user, mailbox):
    make_user("resident", email="reset@example.com")
    _ask_for_reset(web, "reset@example.com")
    _ask_for_reset(web, "reset@example.com")
    first, second = [path_of(m.get_content().split("http://localhost", 1)[1].split()[0]) for m in mailbox.to("reset@example.com")]
    assert web.post(second, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}).status_code == 302
    assert client.get(first).status_code == 400


def test_unknown_email_gets_the_same_answer_and_no_mail(web, client, make_user, mailbox):
    make_user("resident", email="known@example.com")
    english(web)

    known = _ask_for_reset(web, "known@example.com")
    known_page = page_of(client.get(known.headers["Location"]))
    unknown = _ask_for_reset(web, "unknown@example.com")
    unknown_page = page_of(client.get(unknown.headers["Location"]))

    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]

    def flash_text(page, email):
        match = re.search(r'<p class="flash[^"]*">(.*?)</p>', page, re.S)
        assert match, "no message shown"
        return html.unescape(match.group(1)).replace(email, "ADDRESS")

    assert flash_text(known_page, "known@example.com") == flash_text(unknown_page, "unknown@example.com")
    assert "If ADDRESS has an account" in flash_text(unknown_page, "unknown@example.com")
    assert len(mailbox.to("known@example.com")) == 1
    assert mailbox.to("unknown@example.com") == []
    assert len(mailbox.messages) == 1


def test_disabled_user_gets_no_reset_mail(web, make_user, mailbox):
    make_user("official", email="off@example.com", enabled=False)
    assert _ask_for_reset(web, "off@example.com").status_code == 302
    assert mailbox.messages == []


def test_forgot_password_bad_email(web, mailbox):
    english(web)
    response = _ask_for_reset(web, "not an address")
    assert response.status_code == 200
    assert_field_error(page_of(response), "email", "Enter a valid email address.")
    assert mailbox.messages == []


BAD_NEW_PASSWORDS = [
    ("short", "short", "password", "Use between 10 and 128 characters."),
    (NEW_PASSWORD, "something-else-entirely", "password_confirm", "The two passwords differ."),
    ("", "", "password", "This field is required."),
    ("x" * 129, "x" * 129, "password", "Use between 10 and 128 characters."),
]


def test_bad_new_password_is_refused_and_link_still_works(app, web, make_user, mailbox):
    user = make_user("resident", email="reset@example.com")
    _ask_for_reset(web, "reset@example.com")
    link = path_of(mailbox.last_link("reset@example.com"))
    english(web)
    for password, confirm, field_id, message in BAD_NEW_PASSWORDS:
        response = web.post(link, {"password": password, "password_confirm": confirm})
        assert response.status_code == 200, (password, confirm)
        assert_field_error(page_of(response), field_id, message)
        assert user_by_email(app, "reset@example.com").password_hash == user.password_hash
        assert user_by_email(app, "reset@example.com").session_token == user.session_token

    # The link was not spent by the failed try.
    assert web.post(link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}).status_code == 302


def test_expired_and_tampered_reset_links(app, web, client, make_user, mailbox):
    user = make_user("resident", email="reset@example.com")
    _ask_for_reset(web, "reset@example.com")
    link = path_of(mailbox.last_link("reset@example.com"))
    english(web)

    tampered = client.get(link[:-4] + "AAAA")
    assert tampered.status_code == 400
    assert "not valid" in page_of(tampered)

    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    expired = client.get(link)
    assert expired.status_code == 400
    assert "This link has expired." in page_of(expired)
    assert user_by_email(app, "reset@example.com").password_hash == user.password_hash


# ---------------------------------------------------------------- roles on the account page


ROLE_PAGES = [
    # role, English role label, English group label, Korean role label, Korean group label
    ("resident", "Resident", "Residents", "주민", "주민"),
    ("official", "Official", "Officials", "공무원", "공무원"),
    ("judge", "Judge", None, "심사위원", None),
    ("organizer", "Organizer", None, "운영자", None),
]


def test_account_page_shows_role_and_voting_group(app, make_user, new_web):
    for role, role_label, group_label, korean_role, korean_group in ROLE_PAGES:
        user = make_user(role)
        browser = new_web()
        assert browser.login(user.email).status_code == 302

        korean_page = page_of(browser.client.get("/account"))
        assert '<html lang="ko">' in korean_page
        assert user.email in korean_page
        dds = [d.strip() for d in re.findall(r"<dd>(.*?)</dd>", korean_page, re.S)]
        assert dds[2] in (korean_role, role_label), (role, dds)
        if korean_group:
            assert dds[3] in (korean_group, group_label), (role, dds)

        english(browser)
        page = page_of(browser.client.get("/account"))
        compact = re.sub(r"\s+", " ", page)
        assert f"<dt>Role</dt><dd>{role_label}</dd>" in compact, role
        if group_label:
            assert f"<dt>Voting group</dt><dd>{group_label}</dd>" in compact, role
        else:
            assert "Voting group" not in page, role


def test_each_role_has_at_most_one_voting_group(app, make_user):
    for role, group in [("resident", "resident"), ("official", "official"), ("judge", None), ("organizer", None)]:
        user = make_user(role)
        with app.app_context():
            record = db.session.get(User, user.id)
            assert (record.voting_group.value if record.voting_group else None) == group, role
            assert record.can_nominate() == (role in ("resident", "official")), role


def test_unverified_resident_account_page_says_not_confirmed(web, client, login_as):
    login_as("resident", verified=False)
    english(web)
    page = re.sub(r"\s+", " ", page_of(client.get("/account")))
    assert "<dt>Email confirmed</dt> <dd>Not yet</dd>" in page or "<dt>Email confirmed</dt><dd>Not yet</dd>" in page
    assert "Send the link again" in page
