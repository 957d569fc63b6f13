"""Phone confirmation (phone mode): a resident's mobile phone becomes their elector, once per phone.

The codes travel as a person's would: the app's webhook backend posts them to a real HTTP
server on 127.0.0.1 (tests/sms_helpers.py), and the test reads them from there.
"""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from voting.ballots.models import Participation
from voting.database import utcnow
from voting.electors import phone as phone_operations
from voting.electors.models import Elector, ElectorKind, SmsChallenge, SmsPurpose
from voting.electors.routes import SESSION_KEYS
from voting.extensions import db, limiter
from voting.identity import parse_phone

from tests import elector_factories, factories
from tests.conftest import Browserless, csrf_token, database_rows
from tests.sms_helpers import ask_code, e164, sms_gateway, type_code, unreachable_url  # noqa: F401
from tests.voting_helpers import cast_online

PHONE = "010-5678-1234"


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def english_client(app):
    web = Browserless(app.test_client())
    assert web.post("/language", {"lang": "en", "next": "/"}, form_url="/").status_code == 302
    return web


@pytest.fixture(autouse=True)
def fresh_limits():
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def phone_event(app):
    """A phone-mode event in its voting window with two finalists in its first category."""
    with app.app_context():
        event = factories.event(phase="voting", eligibility="phone")
        nominator = factories.user("resident")
        finalists = [factories.nomination(event.id, nominator_id=nominator.id, state="finalist", title=f"후보 {i}").id
                     for i in range(2)]
        db.session.commit()
        return factories.Snapshot.of(event), event.categories[0].id, finalists


def url_of(event):
    return f"/events/{event.id}/phone"


def confirm_phone(web, event, gateway, phone=PHONE):
    """Both steps; returns the answer to the code."""
    sent = ask_code(web, url_of(event), phone)
    assert sent.status_code == 200, sent.get_data(as_text=True)[:800]
    return type_code(web, url_of(event), gateway.code_for(e164(phone)))


def electors_of(app, event_id):
    with app.app_context():
        return [factories.Snapshot.of(e) for e in db.session.scalars(
            select(Elector).where(Elector.event_id == event_id).order_by(Elector.id))]


# ---------------------------------------------------------------------------
# The happy path


def test_a_resident_confirms_a_phone_and_votes(app, web, login_as, phone_event, sms_gateway, english):
    event, category_id, finalists = phone_event
    user = login_as("resident")
    page = web.client.get(url_of(event))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "How we use your personal data" in html and 'name="phone"' in html
    assert page.headers["Cache-Control"] == "no-store"

    sent = ask_code(web, url_of(event), "010 5678 1234")
    html = sent.get_data(as_text=True)
    assert sent.status_code == 200
    assert "We sent a code to the number ending in 1234" in html and 'name="code"' in html
    assert "Send a new code" in html and f"{url_of(event)}?change=1" in html
    assert sms_gateway.count_to("+821056781234") == 1
    code = sms_gateway.code_for("+821056781234")

    # Between the steps the session keeps the challenge id only; the database, the HMAC and last four.
    with web.client.session_transaction() as session:
        kept = session[SESSION_KEYS["phone"]]
        assert set(kept) == {"event", "id"} and "5678" not in repr(dict(session)) and code not in repr(dict(session))
    with app.app_context():
        challenge = db.session.get(SmsChallenge, kept["id"])
        assert challenge.purpose == SmsPurpose.PHONE and challenge.phone_last4 == "1234"
        assert challenge.phone_hmac == parse_phone(PHONE).digest and code not in challenge.code_hash
        assert challenge.expires_at - challenge.created_at == timedelta(minutes=5)
    assert "01056781234" not in repr(database_rows(app)) and "+821056781234" not in repr(database_rows(app))

    # The page again (a reload) is still step 2.
    assert "ending in 1234" in web.client.get(url_of(event)).get_data(as_text=True)

    done = type_code(web, url_of(event), code)
    assert done.status_code == 302 and done.headers["Location"] == url_of(event)
    status = web.client.get(url_of(event)).get_data(as_text=True)
    assert "You vote in this event as the mobile phone ending in 1234" in status
    assert 'name="phone"' not in status and f"/events/{event.id}/vote" in status
    [elector] = electors_of(app, event.id)
    assert (elector.kind, elector.user_id, elector.phone_last4) == (ElectorKind.PHONE, user.id, "1234")
    with app.app_context():
        assert elector.group.value == "resident" and elector.phone_hmac == parse_phone(PHONE).digest
    with web.client.session_transaction() as session:
        assert SESSION_KEYS["phone"] not in session

    receipt = cast_online(web, category_id, [finalists[0]])
    assert receipt.status_code == 200 and 'id="receipt-code"' in receipt.get_data(as_text=True)
    assert count(app, Participation, Participation.elector_id == elector.id) == 1


def test_the_page_speaks_korean_by_default(app, web, login_as, phone_event, sms_gateway):
    event, _category_id, _finalists = phone_event
    login_as("resident")
    html = web.client.get(url_of(event)).get_data(as_text=True)
    assert '<html lang="ko"' in html and 'name="phone"' in html
    sent = ask_code(web, url_of(event), PHONE)
    assert sent.status_code == 200 and "1234" in sent.get_data(as_text=True)


# ---------------------------------------------------------------------------
# One phone, one elector


def test_many_accounts_of_one_person_vote_once(app, phone_event, sms_gateway):
    """Three verified accounts one.person+1@, +2, +3 with one phone: the first confirms and votes;
    the second and third are refused at the phone step and cannot vote."""
    event, category_id, finalists = phone_event
    with app.app_context():
        accounts = [factories.Snapshot.of(factories.user("resident", email=f"one.person+{n}@test.example"))
                    for n in (1, 2, 3)]
        db.session.commit()
    clients = []
    for account in accounts:
        web = english_client(app)
        assert web.login(account.email).status_code == 302
        clients.append(web)

    first = clients[0]
    assert confirm_phone(first, event, sms_gateway).status_code == 302
    assert cast_online(first, category_id, [finalists[0]]).status_code == 200

    for web in clients[1:]:
        refused = confirm_phone(web, event, sms_gateway)
        assert refused.status_code == 409
        html = refused.get_data(as_text=True)
        assert "sign in with the account that first confirmed this phone" in html.lower()
        assert "o**********1@test.example" in html  # one.person+1, masked
        assert "one.person+1@test.example" not in html
        ballot = web.client.get(f"/categories/{category_id}/vote")
        assert ballot.status_code == 403 and url_of(event) in ballot.get_data(as_text=True)
        cast = web.post(f"/categories/{category_id}/vote/cast",
                        {"approvals": [str(finalists[1])], "action": "cast"}, form_url=f"/events/{event.id}/vote")
        assert cast.status_code == 403

    [elector] = electors_of(app, event.id)
    assert elector.user_id == accounts[0].id
    assert count(app, Participation) == 1


def test_a_walk_in_phone_gets_the_account_attached(app, web, login_as, phone_event, sms_gateway, english):
    """A phone registered at the desk without an account: confirming it attaches the account."""
    event, category_id, finalists = phone_event
    with app.app_context():
        walk_in = elector_factories.phone_elector(event.id, PHONE).id
        db.session.commit()
    user = login_as("resident")
    assert confirm_phone(web, event, sms_gateway).status_code == 302
    [elector] = electors_of(app, event.id)
    assert (elector.id, elector.user_id) == (walk_in, user.id)
    assert cast_online(web, category_id, [finalists[0]]).status_code == 200


def test_an_account_that_votes_already_sees_its_status(app, web, login_as, phone_event, sms_gateway, english):
    event, _category_id, _finalists = phone_event
    user = login_as("resident")
    with app.app_context():
        elector_factories.phone_elector(event.id, "010-2222-3333", user_id=user.id)
        db.session.commit()
    html = web.client.get(url_of(event)).get_data(as_text=True)
    assert "ending in 3333" in html and 'name="phone"' not in html
    before = database_rows(app)
    again = ask_code(web, url_of(event), PHONE)
    assert again.status_code == 200 and "ending in 3333" in again.get_data(as_text=True)
    assert database_rows(app) == before and sms_gateway.messages() == []


def test_the_same_account_confirming_twice_keeps_one_elector(app, web, login_as, phone_event, sms_gateway):
    """A double submit of the code: the second finds the elector made by the first."""
    event, _category_id, _finalists = phone_event
    login_as("resident")
    ask_code(web, url_of(event), PHONE)
    code = sms_gateway.code_for(e164(PHONE))
    token = csrf_token(web.client.get(url_of(event)).get_data(as_text=True))
    first = web.client.post(url_of(event), data={"csrf_token": token, "action": "confirm", "code": code})
    second = web.client.post(url_of(event), data={"csrf_token": token, "action": "confirm", "code": code})
    assert first.status_code == 302 and second.status_code == 200
    assert len(electors_of(app, event.id)) == 1


def test_two_accounts_confirming_one_phone_at_once_make_one_elector(app, phone_event, sms_gateway):
    event, _category_id, _finalists = phone_event
    with app.app_context():
        emails = [factories.user("resident").email for _n in range(2)]
        db.session.commit()
    ready = []
    for email in emails:
        web = english_client(app)
        web.login(email)
        assert ask_code(web, url_of(event), PHONE).status_code == 200
        code = sms_gateway.code_for(e164(PHONE))
        ready.append((web, csrf_token(web.client.get(url_of(event)).get_data(as_text=True)), code))
    barrier = threading.Barrier(len(ready))
    answers = [None] * len(ready)

    def confirm(index):
        web, token, code = ready[index]
        barrier.wait()
        answers[index] = web.client.post(url_of(event), data={"csrf_token": token, "action": "confirm", "code": code})

    threads = [threading.Thread(target=confirm, args=(i,)) for i in range(len(ready))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(a.status_code for a in answers) == [302, 409]
    loser = next(a for a in answers if a.status_code == 409).get_data(as_text=True)
    assert "first confirmed this phone" in loser
    [elector] = electors_of(app, event.id)
    assert elector.user_id is not None


def test_the_lost_race_is_a_refusal_not_an_error(app, phone_event, monkeypatch):
    """The SELECT saw no elector of the phone, then the INSERT met the row a twin request had just
    committed (uq_electors_event_phone): the IntegrityError becomes the refusal."""
    from voting.events.models import Event

    event, _category_id, _finalists = phone_event
    with app.test_request_context():
        winner, loser = factories.user("resident", email="winner@test.example"), factories.user("resident")
        elector_factories.phone_elector(event.id, PHONE, user_id=winner.id)
        db.session.commit()
        winner_id = winner.id
        real = phone_operations._elector_of_phone
        calls = []

        def first_sees_nothing(event_record, phone_hmac):
            calls.append(phone_hmac)
            return None if len(calls) == 1 else real(event_record, phone_hmac)

        monkeypatch.setattr(phone_operations, "_elector_of_phone", first_sees_nothing)
        number = parse_phone(PHONE)
        with pytest.raises(phone_operations.PhoneTaken) as refused:
            phone_operations.phone_elector_for(db.session.get(Event, event.id), loser, number.digest, number.last4)
        assert "w****r@test.example" in refused.value.message and len(calls) == 2
        db.session.rollback()
    assert [e.user_id for e in electors_of(app, event.id)] == [winner_id]


# ---------------------------------------------------------------------------
# The code: 5 minutes, 5 wrong tries, the newest only


def test_a_code_expires_after_five_minutes(app, web, login_as, phone_event, sms_gateway, english):
    event, _category_id, _finalists = phone_event
    login_as("resident")
    ask_code(web, url_of(event), PHONE)
    code = sms_gateway.code_for(e164(PHONE))
    with app.app_context():
        db.session.execute(update(SmsChallenge).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    refused = type_code(web, url_of(event), code)
    assert refused.status_code == 400
    assert "This code has expired" in refused.get_data(as_text=True)
    assert electors_of(app, event.id) == []
    with app.app_context():
        assert db.session.scalar(select(SmsChallenge.ended_at)) is not None
    # Back on the page, the person is asked for a new code.
    again = web.client.get(url_of(event)).get_data(as_text=True)
    assert "Ask for a new one" in again and 'name="phone"' in again and 'name="code"' not in again


def test_the_fifth_wrong_try_ends_the_code(app, web, login_as, phone_event, sms_gateway, english):
    event, _category_id, _finalists = phone_event
    login_as("resident")
    ask_code(web, url_of(event), PHONE)
    code = sms_gateway.code_for(e164(PHONE))
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for tries_left in (4, 3, 2, 1):
        answer = type_code(web, url_of(event), wrong)
        assert answer.status_code == 400
        assert f"{tries_left} tries left" in answer.get_data(as_text=True)
    fifth = type_code(web, url_of(event), wrong)
    assert "wrong 5 times" in fifth.get_data(as_text=True)
    right_too_late = type_code(web, url_of(event), code)
    assert right_too_late.status_code == 400 and electors_of(app, event.id) == []
    with app.app_context():
        challenge = db.session.scalars(select(SmsChallenge)).one()
        assert challenge.failures == 5 and challenge.ended_at is not None


def test_a_new_code_ends_the_old_one(app, web, login_as, phone_event, sms_gateway, english):
    event, _category_id, _finalists = phone_event
    login_as("resident")
    ask_code(web, url_of(event), PHONE)
    old = sms_gateway.code_for(e164(PHONE))
    resent = ask_code(web, url_of(event), PHONE)
    assert resent.status_code == 200 and sms_gateway.count_to(e164(PHONE)) == 2
    new = sms_gateway.code_for(e164(PHONE))
    if old != new:  # one in a million they are equal; the old challenge is ended either way
        refused = type_code(web, url_of(event), old)
        assert refused.status_code == 400 and electors_of(app, event.id) == []
    with app.app_context():
        ended = [c.ended_at is not None for c in db.session.scalars(select(SmsChallenge).order_by(SmsChallenge.id))]
    assert ended == [True, False]
    assert type_code(web, url_of(event), new).status_code == 302
    assert len(electors_of(app, event.id)) == 1


def test_a_code_without_a_challenge_asks_for_a_code_first(app, web, login_as, phone_event, english):
    event, _category_id, _finalists = phone_event
    login_as("resident")
    before = database_rows(app)
    answer = type_code(web, url_of(event), "123456")
    assert answer.status_code == 400 and "Ask for a new code" in answer.get_data(as_text=True)
    assert database_rows(app) == before


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
def test_a_malformed_code_is_not_counted(app, web, login_as, phone_event, sms_gateway, english, typed):
    event, _category_id, _finalists = phone_event
    login_as("resident")
    ask_code(web, url_of(event), PHONE)
    before = database_rows(app)
    answer = type_code(web, url_of(event), typed)
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert "6-digit code" in html or "exactly 6 digits" in html
    assert database_rows(app) == before


# ---------------------------------------------------------------------------
# Sending that fails


@pytest.mark.parametrize("failure", ["nobody listens", "gateway answers 500"])
def test_a_failed_send_is_said_plainly_and_loses_nothing(app, web, login_as, phone_event, sms_gateway, english,
                                                         failure):
    event, _category_id, _finalists = phone_event
    login_as("resident")
    if failure == "nobody listens":
        app.config["SMS_WEBHOOK_URL"] = unreachable_url()
    else:
        sms_gateway.status = 500
    answer = ask_code(web, url_of(event), PHONE)
    assert answer.status_code == 503
    html = answer.get_data(as_text=True)
    assert "We could not send the text message just now" in html
    assert f'value="{PHONE}"' in html  # the form keeps what was typed
    assert "Internal Server Error" not in html
    with app.app_context():
        kept = db.session.scalars(select(SmsChallenge)).all()
    assert len(kept) == 1 and kept[0].ended_at is None  # committed before sending
    with web.client.session_transaction() as session:
        assert SESSION_KEYS["phone"] not in session  # no "we sent a code" for a code never sent

    sms_gateway.status = 200
    app.config["SMS_WEBHOOK_URL"] = sms_gateway.url + "/sms"
    assert confirm_phone(web, event, sms_gateway).status_code == 302


# ---------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(("typed", "says"), [
    ("010-abcd-5678", "only digits"),
    ("010-1234-567a", "only digits"),
    ("02-312-3456", "home or office phone"),
    ("031-123-4567", "home or office phone"),
    ("010-1234-5678-9012-3456-7890-1234-5678", "not a mobile phone number"),
    ("0" * 5000, "not a mobile phone number"),
    ("01012", "not a mobile phone number"),
    ("+1 202 555 0100", "Type a Korean mobile number"),
    ("+44 7911 123456", "Type a Korean mobile number"),
    ("", "Enter your mobile phone number"),
    ("   ", "Enter your mobile phone number"),
    ("010\x001234\x005678", "only digits"),
])
def test_a_bad_number_is_refused_clearly_and_saves_nothing(app, web, login_as, phone_event, sms_gateway, english,
                                                           typed, says):
    event, _category_id, _finalists = phone_event
    login_as("resident")
    before = database_rows(app)
    answer = ask_code(web, url_of(event), typed)
    assert answer.status_code == 400
    assert says in answer.get_data(as_text=True)
    assert database_rows(app) == before and sms_gateway.messages() == []


def test_an_unknown_action_is_a_bad_request(app, web, login_as, phone_event):
    event, _category_id, _finalists = phone_event
    login_as("resident")
    before = database_rows(app)
    assert web.post(url_of(event), {"action": "delete", "phone": PHONE}).status_code == 400
    assert web.post(url_of(event), {"phone": PHONE}).status_code == 400
    assert database_rows(app) == before


def test_a_post_without_csrf_token_is_refused(app, web, login_as, phone_event, sms_gateway):
    event, _category_id, _finalists = phone_event
    login_as("resident")
    before = database_rows(app)
    answer = web.client.post(url_of(event), data={"action": "send", "phone": PHONE})
    assert answer.status_code == 400 and database_rows(app) == before and sms_gateway.messages() == []


# ---------------------------------------------------------------------------
# Which events, which roles


@pytest.mark.parametrize(("mode", "link", "says"), [
    ("open", "/vote", "Go to voting"),
    ("roll", "/claim", "Find me on the roll"),
])
def test_other_modes_explain_and_link_to_the_right_page(app, web, login_as, make_event, sms_gateway, english,
                                                        mode, link, says):
    event = make_event(phase="voting", eligibility=mode)
    login_as("resident")
    page = web.client.get(url_of(event))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "This event does not use phone confirmation" in html
    assert f'href="/events/{event.id}{link}"' in html and says in html and 'name="phone"' not in html
    before = database_rows(app)
    assert ask_code(web, url_of(event), PHONE).status_code == 200
    assert database_rows(app) == before and sms_gateway.messages() == []


def test_a_closed_event_takes_no_phone(app, web, login_as, make_event, sms_gateway, english):
    event = make_event(phase="after", eligibility="phone")
    login_as("resident")
    html = web.client.get(url_of(event)).get_data(as_text=True)
    assert "Voting in this event is over" in html and 'name="phone"' not in html
    before = database_rows(app)
    ask_code(web, url_of(event), PHONE)
    assert database_rows(app) == before and sms_gateway.messages() == []


def test_unknown_and_draft_events_are_not_found(app, web, login_as, make_event):
    draft = make_event(state="draft", eligibility="phone")
    login_as("resident")
    assert web.client.get(url_of(draft)).status_code == 404
    assert web.client.get("/events/999999/phone").status_code == 404
    before = database_rows(app)
    assert ask_code(web, url_of(draft), PHONE).status_code == 404
    assert database_rows(app) == before


@pytest.mark.parametrize("role", ["official", "judge", "staff", "organizer"])
def test_other_roles_are_refused(app, web, login_as, phone_event, sms_gateway, role):
    event, _category_id, _finalists = phone_event
    login_as(role)
    assert web.client.get(url_of(event)).status_code == 403
    before = database_rows(app)
    assert ask_code(web, url_of(event), PHONE).status_code == 403
    assert type_code(web, url_of(event), "123456").status_code == 403
    assert database_rows(app) == before and sms_gateway.messages() == []


def test_anonymous_is_sent_to_log_in(app, client, phone_event):
    event, _category_id, _finalists = phone_event
    answer = client.get(url_of(event))
    assert answer.status_code == 302 and "/login?next=" in answer.headers["Location"]


# ---------------------------------------------------------------------------
# Rate limits


def test_codes_to_one_phone_are_limited(app, web, login_as, phone_event, sms_gateway, english):
    event, _category_id, _finalists = phone_event
    app.config["SMS_PHONE_RATE_LIMIT"] = "2 per minute"
    login_as("resident")
    for _n in range(2):
        assert ask_code(web, url_of(event), PHONE).status_code == 200
    # The same phone written another way is the same phone.
    blocked = ask_code(web, url_of(event), "+82 10 5678 1234")
    assert blocked.status_code == 429
    html = blocked.get_data(as_text=True)
    assert "Too many codes were sent to this number" in html and "You can try again after" in html
    assert "Traceback" not in html
    assert sms_gateway.count_to(e164(PHONE)) == 2 and count(app, SmsChallenge) == 2
    # Another phone is not held up, and typing the code already sent still works.
    assert ask_code(web, url_of(event), "010-9999-0000").status_code == 200
    assert type_code(web, url_of(event), sms_gateway.code_for("+821099990000")).status_code == 302


def test_codes_from_one_address_are_limited(app, phone_event, sms_gateway):
    event, _category_id, _finalists = phone_event
    app.config["SMS_ADDRESS_RATE_LIMIT"] = "2 per minute"
    with app.app_context():
        emails = [factories.user("resident").email for _n in range(3)]
        db.session.commit()
    answers = []
    for n, email in enumerate(emails):
        web = english_client(app)
        web.login(email)
        answers.append(ask_code(web, url_of(event), f"010-4444-000{n}"))
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert "from this network" in answers[2].get_data(as_text=True)
    assert count(app, SmsChallenge) == 2


def test_wrong_codes_are_limited_per_address_and_right_ones_do_not_count(app, phone_event, sms_gateway):
    event, _category_id, _finalists = phone_event
    app.config["CODE_RATE_LIMIT"] = "2 per minute"
    with app.app_context():
        first_email, second_email = (factories.user("resident").email for _n in range(2))
        db.session.commit()
    first = english_client(app)
    first.login(first_email)
    ask_code(first, url_of(event), PHONE)
    code = sms_gateway.code_for(e164(PHONE))
    assert type_code(first, url_of(event), f"{(int(code) + 1) % 1_000_000:06d}").status_code == 400  # 1 failure
    assert type_code(first, url_of(event), code).status_code == 302  # a right code: not counted

    second = english_client(app)
    second.login(second_email)
    other = "010-7777-8888"
    ask_code(second, url_of(event), other)
    code = sms_gateway.code_for(e164(other))
    assert type_code(second, url_of(event), f"{(int(code) + 1) % 1_000_000:06d}").status_code == 400  # 2 failures
    blocked = type_code(second, url_of(event), code)
    assert blocked.status_code == 429
    assert "Too many wrong codes" in blocked.get_data(as_text=True)
    assert len(electors_of(app, event.id)) == 1


# ---------------------------------------------------------------------------
# The account page


def test_the_account_page_lists_electors_and_links_events_that_need_a_phone(app, web, login_as, phone_event,
                                                                            make_event, sms_gateway, english):
    event, _category_id, _finalists = phone_event
    other = make_event(phase="voting", eligibility="roll")
    make_event(phase="after", eligibility="phone")  # over: not offered
    login_as("resident")
    html = web.client.get("/account").get_data(as_text=True)
    assert f'href="/events/{event.id}/phone"' in html and f'href="/events/{other.id}/claim"' in html
    assert html.count("/phone\"") == 1

    assert confirm_phone(web, event, sms_gateway).status_code == 302
    html = web.client.get("/account").get_data(as_text=True)
    assert "as the mobile phone ending in 1234" in html and event.name in html
    assert f'href="/events/{event.id}/phone"' not in html and f'href="/events/{other.id}/claim"' in html


def test_the_account_page_of_an_official_offers_no_phone_step(app, web, login_as, phone_event, english):
    login_as("official")
    html = web.client.get("/account").get_data(as_text=True)
    assert "/phone\"" not in html
