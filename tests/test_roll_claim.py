"""The roll claim (roll mode): a resident finds their entry with name, birth date and the roll's phone,
proves the phone with an SMS code, and their account becomes the entry's elector."""
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from voting.ballots.models import Participation
from voting.electors.models import Elector, ElectorKind, SmsChallenge, SmsPurpose
from voting.electors.routes import SESSION_KEYS
from voting.extensions import db, limiter

from tests import elector_factories, factories
from tests.conftest import Browserless, csrf_token, database_rows
from tests.sms_helpers import e164, sms_gateway, type_code, unreachable_url  # noqa: F401
from tests.voting_helpers import cast_online

NAME, BIRTH, PHONE = "남궁 민수", date(1950, 3, 1), "010-3333-4444"


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
def roll_event(app):
    """A roll-mode event in its voting window, two finalists, and one resident on its roll (not claimed)."""
    with app.app_context():
        event = factories.event(phase="voting", eligibility="roll")
        nominator = factories.user("resident")
        finalists = [factories.nomination(event.id, nominator_id=nominator.id, state="finalist", title=f"후보 {i}").id
                     for i in range(2)]
        entry, elector = elector_factories.roll_entry(event.id, NAME, PHONE, birth_date=BIRTH)
        db.session.commit()
        return factories.Snapshot.of(event), event.categories[0].id, finalists, entry.id, elector.id


def url_of(event):
    return f"/events/{event.id}/claim"


def ask_claim(web, event, name=NAME, birth=BIRTH.isoformat(), phone=PHONE):
    return web.post(url_of(event), {"action": "send", "name": name, "birth_date": birth, "phone": phone})


def elector(app, elector_id):
    with app.app_context():
        return factories.Snapshot.of(db.session.get(Elector, elector_id))


def test_a_resident_claims_the_entry_and_votes(app, web, login_as, roll_event, sms_gateway, english):
    event, category_id, finalists, entry_id, elector_id = roll_event
    user = login_as("resident")
    page = web.client.get(url_of(event))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert 'name="name"' in html and 'type="date"' in html and 'name="phone"' in html
    assert "How we use your personal data" in html and "date of birth" in html

    # Spaces around and inside the name do not matter; the number may be written any usual way.
    sent = ask_claim(web, event, name="  남궁   민수 ", phone="+82 10-3333-4444")
    assert sent.status_code == 200, sent.get_data(as_text=True)[:1000]
    assert "We sent a code to the number ending in 4444" in sent.get_data(as_text=True)
    with app.app_context():
        challenge = db.session.scalars(select(SmsChallenge)).one()
        assert (challenge.purpose, challenge.roll_entry_id, challenge.user_id) == (SmsPurpose.CLAIM, entry_id, user.id)
    with web.client.session_transaction() as session:
        assert set(session[SESSION_KEYS["claim"]]) == {"event", "id"}

    done = type_code(web, url_of(event), sms_gateway.code_for(e164(PHONE)))
    assert done.status_code == 302
    claimed = elector(app, elector_id)
    assert (claimed.user_id, claimed.kind, claimed.roll_entry_id) == (user.id, ElectorKind.ROLL, entry_id)
    assert count(app, Elector) == 1  # the import's elector, not a new one
    status = web.client.get(url_of(event)).get_data(as_text=True)
    assert "ending in 4444" in status and 'name="birth_date"' not in status

    assert cast_online(web, category_id, [finalists[0]]).status_code == 200
    assert count(app, Participation, Participation.elector_id == elector_id) == 1


NOT_FOUND = "We could not find you on the roll with these details"


@pytest.mark.parametrize("wrong", [
    {"name": "남궁 민호"},
    {"birth": "1950-03-02"},
    {"phone": "010-3333-4445"},
    {"name": "남궁 민호", "birth": "1960-01-01", "phone": "010-9999-9999"},
])
def test_details_that_match_no_entry_get_one_message(app, web, login_as, roll_event, sms_gateway, english, wrong):
    event, *_rest = roll_event
    login_as("resident")
    before = database_rows(app)
    answer = ask_claim(web, event, **wrong)
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert NOT_FOUND in html and 'class="error"' not in html  # no field is marked: none is named
    assert database_rows(app) == before and sms_gateway.messages() == []


def test_an_entry_claimed_by_another_account_is_refused(app, web, login_as, roll_event, sms_gateway, english):
    event, _category_id, _finalists, _entry_id, elector_id = roll_event
    with app.app_context():
        owner = factories.user("resident")
        db.session.get(Elector, elector_id).user_id = owner.id
        db.session.commit()
    login_as("resident")
    before = database_rows(app)
    answer = ask_claim(web, event)
    assert answer.status_code == 409
    assert "already claimed by another account" in answer.get_data(as_text=True)
    assert database_rows(app) == before and sms_gateway.messages() == []


def test_an_entry_claimed_between_code_and_confirmation_is_refused(app, web, login_as, roll_event, sms_gateway,
                                                                   english):
    event, _category_id, _finalists, _entry_id, elector_id = roll_event
    login_as("resident")
    assert ask_claim(web, event).status_code == 200
    with app.app_context():
        quicker = factories.user("resident", email="quicker@test.example")
        db.session.get(Elector, elector_id).user_id = quicker.id
        db.session.commit()
        quicker_id = quicker.id
    refused = type_code(web, url_of(event), sms_gateway.code_for(e164(PHONE)))
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert "already claimed by another account (q*****r@test.example)" in html
    assert elector(app, elector_id).user_id == quicker_id


def test_an_account_that_holds_an_elector_sees_its_status(app, web, login_as, roll_event, sms_gateway, english):
    event, _category_id, _finalists, _entry_id, _elector_id = roll_event
    user = login_as("resident")
    with app.app_context():
        elector_factories.roll_entry(event.id, "이미 등록", "010-1212-3434", user_id=user.id)
        db.session.commit()
    html = web.client.get(url_of(event)).get_data(as_text=True)
    assert "ending in 3434" in html and 'name="birth_date"' not in html
    before = database_rows(app)
    assert ask_claim(web, event).status_code == 200
    assert database_rows(app) == before and sms_gateway.messages() == []


def test_an_official_entry_cannot_be_claimed_by_a_resident_account(app, web, login_as, roll_event, sms_gateway,
                                                                   english):
    event, *_rest = roll_event
    with app.app_context():
        elector_factories.roll_entry(event.id, "김공무", "010-5656-7878", group="official")
        db.session.commit()
    login_as("resident")
    before = database_rows(app)
    answer = ask_claim(web, event, name="김공무", phone="010-5656-7878")
    assert answer.status_code == 409 and "for an official" in answer.get_data(as_text=True)
    assert database_rows(app) == before


def test_a_wrong_code_counts_and_the_fifth_ends_it(app, web, login_as, roll_event, sms_gateway, english):
    event, _category_id, _finalists, _entry_id, elector_id = roll_event
    login_as("resident")
    ask_claim(web, event)
    code = sms_gateway.code_for(e164(PHONE))
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _n in range(4):
        assert "tries left" in type_code(web, url_of(event), wrong).get_data(as_text=True)
    assert "wrong 5 times" in type_code(web, url_of(event), wrong).get_data(as_text=True)
    assert type_code(web, url_of(event), code).status_code == 400
    assert elector(app, elector_id).user_id is None


def test_the_code_step_offers_a_new_code_with_the_same_details(app, web, login_as, roll_event, sms_gateway, english):
    event, _category_id, _finalists, _entry_id, elector_id = roll_event
    login_as("resident")
    html = ask_claim(web, event).get_data(as_text=True)
    token = csrf_token(html)
    assert 'name="action" value="send"' in html and f'value="{BIRTH.isoformat()}"' in html
    again = web.client.post(url_of(event), data={"csrf_token": token, "action": "send", "name": NAME,
                                                 "birth_date": BIRTH.isoformat(), "phone": PHONE})
    assert again.status_code == 200 and sms_gateway.count_to(e164(PHONE)) == 2
    assert type_code(web, url_of(event), sms_gateway.code_for(e164(PHONE))).status_code == 302
    assert elector(app, elector_id).user_id is not None


def test_a_failed_send_is_said_plainly(app, web, login_as, roll_event, sms_gateway, english):
    event, *_rest = roll_event
    app.config["SMS_WEBHOOK_URL"] = unreachable_url()
    login_as("resident")
    answer = ask_claim(web, event)
    assert answer.status_code == 503
    html = answer.get_data(as_text=True)
    assert "We could not send the text message just now" in html and 'value="남궁 민수"' in html
    assert count(app, SmsChallenge) == 1


@pytest.mark.parametrize(("field", "value", "says"), [
    ("birth", "0001-01-01", "between 1900-01-01 and today"),
    ("birth", "1999-02-30", "Enter a real date as YYYY-MM-DD"),
    ("birth", "1950/03/01", "Enter a real date as YYYY-MM-DD"),
    ("birth", "abc", "Enter a real date as YYYY-MM-DD"),
    ("birth", "", "Enter your date of birth"),
    ("birth", (date.today() + timedelta(days=400)).isoformat(), "between 1900-01-01 and today"),
    ("birth", "99999-01-01", "Enter a real date as YYYY-MM-DD"),
    ("name", "", "This field is required"),
    ("name", "가" * 101, "at most 100 characters"),
    ("phone", "010-abcd-4444", "only digits"),
    ("phone", "02-312-3456", "home or office phone"),
    ("phone", "", "Enter your mobile phone number"),
])
def test_bad_input_is_refused_clearly_and_saves_nothing(app, web, login_as, roll_event, sms_gateway, english,
                                                        field, value, says):
    event, *_rest = roll_event
    login_as("resident")
    before = database_rows(app)
    answer = ask_claim(web, event, **{field: value})
    assert answer.status_code == 400
    assert says in answer.get_data(as_text=True)
    assert database_rows(app) == before and sms_gateway.messages() == []


@pytest.mark.parametrize(("mode", "link"), [("open", "/vote"), ("phone", "/phone")])
def test_other_modes_explain_and_link_to_the_right_page(app, web, login_as, make_event, english, mode, link):
    event = make_event(phase="voting", eligibility=mode)
    login_as("resident")
    html = web.client.get(url_of(event)).get_data(as_text=True)
    assert "This event has no roll to claim" in html and f'href="/events/{event.id}{link}"' in html


def test_draft_and_unknown_events_are_not_found(app, web, login_as, make_event):
    draft = make_event(state="draft", eligibility="roll")
    login_as("resident")
    assert web.client.get(url_of(draft)).status_code == 404
    assert web.client.get("/events/999999/claim").status_code == 404


@pytest.mark.parametrize("role", ["official", "judge", "staff", "organizer"])
def test_other_roles_are_refused(app, web, login_as, roll_event, sms_gateway, role):
    event, *_rest = roll_event
    login_as(role)
    assert web.client.get(url_of(event)).status_code == 403
    before = database_rows(app)
    assert ask_claim(web, event).status_code == 403
    assert database_rows(app) == before and sms_gateway.messages() == []


def test_an_account_without_an_entry_cannot_vote(app, web, login_as, roll_event, english):
    _event, category_id, _finalists, _entry_id, _elector_id = roll_event
    login_as("resident")
    refused = web.client.get(f"/categories/{category_id}/vote")
    assert refused.status_code == 403 and "/claim" in refused.get_data(as_text=True)


def test_failed_look_ups_count_against_the_address(app, web, login_as, roll_event, sms_gateway, english):
    event, *_rest = roll_event
    app.config["CODE_RATE_LIMIT"] = "2 per minute"
    login_as("resident")
    assert ask_claim(web, event, name="아무개").status_code == 400
    assert ask_claim(web, event, name="홍길동").status_code == 400
    blocked = ask_claim(web, event)
    assert blocked.status_code == 429 and "Too many wrong codes or details" in blocked.get_data(as_text=True)
    assert sms_gateway.messages() == []


def test_two_accounts_claiming_one_entry_at_once_get_one_claim(app, roll_event, sms_gateway):
    event, _category_id, _finalists, _entry_id, elector_id = roll_event
    with app.app_context():
        emails = [factories.user("resident").email for _n in range(2)]
        db.session.commit()
    ready = []
    for email in emails:
        web = english_client(app)
        web.login(email)
        assert ask_claim(web, event).status_code == 200
        ready.append((web, csrf_token(web.client.get(url_of(event)).get_data(as_text=True)),
                      sms_gateway.code_for(e164(PHONE))))
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
    assert elector(app, elector_id).user_id is not None and count(app, Elector) == 1
