"""The eligibility mode and the retention period on the event form; the mode on the public and ballot pages.

The mode can change until voting opens or anyone votes; after that the form shows it disabled
with the reason, and a POST that tries to change it saves everything else and says why the
mode stayed. The event page, the ballot overview and the ballot say the mode in one sentence,
and tell a resident who still needs a step (email, phone, roll) what to do, with a button.
"""
import html
import json
import re
import threading
import pytest
from sqlalchemy import func, select

from tests import elector_factories, factories
from tests.conftest import Browserless, database_rows
from tests.test_events import EVENT_DATA
from voting.audit.models import AuditEntry
from voting.ballots.models import Channel, OnsiteSession, Participation
from voting.database import utcnow
from voting.electors.models import EligibilityMode
from voting.events.models import Event, EventState
from voting.extensions import db

SENTENCES_EN = {
    "open": "Any account with a confirmed email address votes once.",
    "phone": "In this event one person votes once, after confirming a mobile phone.",
    "roll": "In this event only the people on the roll vote, once each.",
}
SENTENCES_KO = {
    "open": "이 행사는 이메일 주소를 확인한 계정마다 한 번 투표합니다.",
    "phone": "이 행사는 휴대폰 인증 후 한 사람이 한 번 투표합니다.",
    "roll": "이 행사는 명부에 있는 분만 한 번씩 투표합니다.",
}
CARD = "CARD-3PRI-V01"


def text(response):
    return html.unescape(response.get_data(as_text=True))


def stored(app, event_id):
    with app.app_context():
        event = db.session.get(Event, event_id)
        return event.eligibility, event.retention_months, event.name


def eligibility_entries(app, event_id):
    with app.app_context():
        return [json.loads(entry.details) for entry in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "event.eligibility", AuditEntry.event_id == event_id)
            .order_by(AuditEntry.id))]


def radio_tags(page):
    return re.findall(r'<input[^>]*name="eligibility"[^>]*>', page)


def edit_data(**changes):
    return {**EVENT_DATA, **changes}


@pytest.fixture
def organizer(login_as, english):
    return login_as("organizer")


def add_participation(app, event_id):
    """Someone voted (a participation row, as any channel writes it), without touching the windows."""
    with app.app_context():
        event = db.session.get(Event, event_id)
        elector = elector_factories.phone_elector(event_id, "010-4444-5555")
        db.session.add(Participation(category_id=event.categories[0].id, elector_id=elector.id,
                                     group=elector.group, channel=Channel.ONLINE))
        db.session.commit()


# ---------------------------------------------------------------- the form


def test_new_event_form_offers_the_three_modes_with_a_line_each(client, organizer):
    page = text(client.get("/manage/events/new"))
    tags = radio_tags(page)
    assert [re.search(r'value="(\w+)"', tag).group(1) for tag in tags] == ["open", "phone", "roll"]
    assert "checked" in tags[0] and not any("disabled" in tag for tag in tags)
    for tag in tags:  # each radio is described by its one-line explanation
        described = re.search(r'aria-describedby="([^"]+)"', tag).group(1)
        assert f'id="{described}"' in page
    assert "one person can make several accounts" in page
    assert "One phone votes once, however many accounts" in page
    assert "Only the people on the roll" in page
    assert re.search(r'<input[^>]*id="retention_months"[^>]*value="6"', page)


def test_new_event_stores_the_mode_and_the_retention(web, organizer, app):
    response = web.post("/manage/events/new", {**EVENT_DATA, "eligibility": "phone", "retention_months": "12"})
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalars(select(Event)).one()
        assert (event.eligibility, event.retention_months) == (EligibilityMode.PHONE, 12)
        created = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "event.create"))
        assert json.loads(created.details) == {"name": EVENT_DATA["name"], "eligibility": "phone", "retention_months": 12}


def test_a_form_without_the_new_fields_keeps_the_defaults(web, organizer, app):
    assert web.post("/manage/events/new", EVENT_DATA).status_code == 302
    with app.app_context():
        event = db.session.scalars(select(Event)).one()
        assert (event.eligibility, event.retention_months) == (EligibilityMode.OPEN, 6)


def test_mode_changes_before_voting_opens_and_is_audited(web, organizer, make_event, app):
    event = make_event(state="open", phase="before")
    response = web.post(f"/manage/events/{event.id}/edit", edit_data(eligibility="roll", retention_months="24"))
    assert response.status_code == 302
    assert stored(app, event.id)[:2] == (EligibilityMode.ROLL, 24)
    assert eligibility_entries(app, event.id) == [{"from": "open", "to": "roll"}]
    # The same mode again records nothing new.
    assert web.post(f"/manage/events/{event.id}/edit", edit_data(eligibility="roll")).status_code == 302
    assert len(eligibility_entries(app, event.id)) == 1


def test_mode_is_locked_once_voting_opens(client, web, organizer, make_event, app):
    event = make_event(state="open", phase="voting")
    page = text(client.get(f"/manage/events/{event.id}/edit"))
    tags = radio_tags(page)
    assert len(tags) == 3 and all("disabled" in tag for tag in tags)
    assert "checked" in tags[0]
    assert "Voting has opened, so who may vote can no longer be changed." in page

    # A POST that tries anyway: the rest is saved, the mode stays, the page says why.
    response = web.post(f"/manage/events/{event.id}/edit",
                        edit_data(name="바뀐 이름", eligibility="phone", retention_months="3"), follow_redirects=True)
    page = text(response)
    assert "Who may vote was not changed; the rest was saved." in page
    assert "Voting has opened" in page and "The event was saved." in page
    assert stored(app, event.id) == (EligibilityMode.OPEN, 3, "바뀐 이름")
    assert eligibility_entries(app, event.id) == []


def test_a_locked_form_as_a_browser_sends_it_saves_without_complaint(client, web, organizer, make_event, app):
    """A disabled radio group is not sent at all: the mode stays and no refusal is shown."""
    event = make_event(state="open", phase="voting", eligibility="phone")
    response = web.post(f"/manage/events/{event.id}/edit", edit_data(name="새 이름"), follow_redirects=True)
    page = text(response)
    assert "The event was saved." in page and "was not changed" not in page
    assert stored(app, event.id)[0] == EligibilityMode.PHONE and stored(app, event.id)[2] == "새 이름"


def test_mode_is_locked_once_anyone_voted_even_before_the_window(client, web, organizer, make_event, app):
    event = make_event(state="open", phase="before")
    add_participation(app, event.id)
    page = text(client.get(f"/manage/events/{event.id}/edit"))
    assert all("disabled" in tag for tag in radio_tags(page))
    assert "Someone has already voted in this event" in page
    response = web.post(f"/manage/events/{event.id}/edit", edit_data(year="2020", eligibility="roll"),
                        follow_redirects=True)
    assert "Who may vote was not changed" in text(response)
    with app.app_context():
        event_row = db.session.get(Event, event.id)
        assert event_row.eligibility == EligibilityMode.OPEN and event_row.year == 2020


@pytest.mark.parametrize("value, message", [
    ("0", "from 1 to 60"), ("61", "from 1 to 60"), ("", "Enter a whole number"), ("six", None),
])
def test_bad_retention_is_refused_next_to_the_field(web, organizer, make_event, app, value, message):
    event = make_event(state="open", phase="before")
    before = database_rows(app)
    response = web.post(f"/manage/events/{event.id}/edit", edit_data(name="바꾸려는 이름", retention_months=value))
    assert response.status_code == 200
    page = text(response)
    assert 'id="retention_months-error"' in page and "Nothing was saved" in page
    if message:
        assert message in page.split('id="retention_months-error">', 1)[1].split("</p>", 1)[0]
    assert database_rows(app) == before


def test_unknown_mode_is_refused(web, organizer, make_event, app):
    event = make_event(state="open", phase="before")
    before = database_rows(app)
    response = web.post(f"/manage/events/{event.id}/edit", edit_data(eligibility="everyone"))
    assert response.status_code == 200 and 'id="eligibility-error"' in text(response)
    assert database_rows(app) == before


def test_the_form_in_korean(client, login_as, make_event):
    event = make_event(state="open", phase="voting")
    login_as("organizer")
    page = text(client.get(f"/manage/events/{event.id}/edit"))
    assert "투표할 수 있는 사람" in page and "휴대폰 인증" in page and "개인정보 보관 기간(개월)" in page
    assert "투표가 이미 시작되어 투표할 수 있는 사람을 더 이상 바꿀 수 없습니다." in page


def test_a_ballot_and_a_mode_change_racing_one_wins(app, make_user, make_event):
    """Before the voting window, with on-site voting open, a card ballot and a switch to phone
    mode race: either the switch wins (and the unbound card is refused) or the ballot does (and
    the switch is refused); never both, never neither, never a 500."""
    organizer = make_user("organizer")
    for round_number in range(4):
        event = make_event(state="open", phase="before")
        with app.app_context():
            category = db.session.get(Event, event.id).categories[0]
            nominator = factories.user("resident")
            finalist = factories.nomination(event.id, nominator_id=nominator.id, state="finalist").id
            db.session.add(OnsiteSession(category_id=category.id, opened_at=utcnow()))
            elector_factories.card(event.id, organizer.id, f"CARD-3PRI-V{round_number:02d}")
            db.session.commit()
            category_id = category.id
        voter, manager = Browserless(app.test_client()), Browserless(app.test_client())
        manager.login(organizer.email)
        manager.post("/language", {"lang": "en", "next": "/"}, form_url="/")
        assert voter.post(f"/onsite/{event.id}", {"code": f"CARD-3PRI-V{round_number:02d}"}).status_code == 302
        vote_url = f"/onsite/{event.id}/categories/{category_id}"
        cast_data = {"approvals": [str(finalist)], "action": "cast", "csrf_token": voter.token(vote_url)}
        edit_data_ = {**EVENT_DATA, "eligibility": "phone", "vote_opens_at": "2099-01-01T09:00",
                      "vote_closes_at": "2099-01-02T09:00", "judge_opens_at": "2099-01-01T09:00",
                      "judge_closes_at": "2099-01-03T09:00",
                      "csrf_token": manager.token(f"/manage/events/{event.id}/edit")}
        barrier, answers = threading.Barrier(2), {}

        def cast():
            barrier.wait()
            answers["cast"] = voter.client.post(f"{vote_url}/cast", data=cast_data)

        def switch():
            barrier.wait()
            answers["switch"] = manager.client.post(f"/manage/events/{event.id}/edit", data=edit_data_,
                                                    follow_redirects=True)

        threads = [threading.Thread(target=cast), threading.Thread(target=switch)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers["cast"].status_code in (302, 403) and answers["switch"].status_code == 200
        with app.app_context():
            voted = db.session.scalar(select(func.count()).select_from(Participation)
                                      .where(Participation.category_id == category_id))
            mode = db.session.get(Event, event.id).eligibility
        assert (voted == 1) != (mode == EligibilityMode.PHONE), (voted, mode)
        assert (answers["cast"].status_code == 302) == (voted == 1)
        assert ("was not changed" in text(answers["switch"])) == (voted == 1)


# ---------------------------------------------------------------- the pages


def mode_event(app, mode, phase="voting"):
    with app.app_context():
        event = factories.event(phase=phase, eligibility=mode)
        nominator = factories.user("resident")
        factories.nomination(event.id, nominator_id=nominator.id, state="finalist", title="본선 후보")
        db.session.commit()
        return factories.Snapshot.of(event)


STEPS = {"phone": "/events/{id}/phone", "roll": "/events/{id}/claim"}


def step_button(page):
    match = re.search(r'<a[^>]*id="eligibility-step"[^>]*href="([^"]+)"', page)
    return match and match.group(1)


@pytest.mark.parametrize("mode", ["open", "phone", "roll"])
def test_event_page_says_the_mode_to_everyone(client, app, mode, english):
    event = mode_event(app, mode)
    page = text(client.get(f"/events/{event.id}"))
    assert SENTENCES_EN[mode] in page
    assert step_button(page) is None  # nobody signed in: no step to offer


@pytest.mark.parametrize("mode", ["phone", "roll"])
def test_a_resident_without_an_elector_is_shown_the_step(client, app, login_as, mode, english):
    event = mode_event(app, mode)
    login_as("resident")
    for url in (f"/events/{event.id}", f"/events/{event.id}/vote"):
        page = text(client.get(url))
        assert SENTENCES_EN[mode] in page, url
        assert step_button(page) == STEPS[mode].format(id=event.id), url
    need = "confirm your mobile phone with a 6-digit code" if mode == "phone" else "find yourself on the roll"
    assert need in page


def test_open_mode_sends_an_unconfirmed_resident_to_the_account_page(client, app, login_as, english):
    event = mode_event(app, "open")
    login_as("resident", verified=False)
    page = text(client.get(f"/events/{event.id}"))
    assert step_button(page) == "/account"
    assert "confirm your email address with the link we sent you" in page


def test_no_step_for_who_needs_none(client, web, app, make_user, english):
    """A resident whose phone is confirmed, a verified resident in open mode, an official, an organizer."""
    phone_event, open_event = mode_event(app, "phone"), mode_event(app, "open")
    confirmed = make_user("resident")
    with app.app_context():
        elector_factories.phone_elector(phone_event.id, "010-2222-3333", user_id=confirmed.id)
        db.session.commit()
    for user, event in ((confirmed, phone_event), (make_user("resident"), open_event),
                        (make_user("official"), phone_event), (make_user("organizer"), phone_event)):
        web.login(user.email)
        page = text(client.get(f"/events/{event.id}"))
        assert SENTENCES_EN[event.eligibility.value] in page
        assert step_button(page) is None, user.role
        web.logout()


def test_no_step_once_the_event_is_closed(client, app, login_as, english):
    event = mode_event(app, "phone", phase="after")
    with app.app_context():
        db.session.get(Event, event.id).state = EventState.CLOSED
        db.session.commit()
    login_as("resident")
    page = text(client.get(f"/events/{event.id}"))
    assert SENTENCES_EN["phone"] in page and step_button(page) is None


def test_ballot_page_says_the_mode(client, web, app, make_user, english):
    event = mode_event(app, "phone")
    resident = make_user("resident")
    with app.app_context():
        elector_factories.phone_elector(event.id, "010-2222-3333", user_id=resident.id)
        db.session.commit()
    web.login(resident.email)
    overview = text(client.get(f"/events/{event.id}/vote"))
    assert SENTENCES_EN["phone"] in overview and step_button(overview) is None
    ballot = text(client.get(f"/categories/{event.categories[0].id}/vote"))
    assert ballot.index(SENTENCES_EN["phone"]) < ballot.index("Finalists")  # at the top, before the choices
    assert step_button(ballot) is None


def test_on_site_overview_says_the_mode_but_no_account_step(client, web, app, make_user, login_as, english):
    event = mode_event(app, "open")
    organizer = make_user("organizer")
    with app.app_context():
        elector_factories.card(event.id, organizer.id, CARD)
        db.session.add(OnsiteSession(category_id=event.categories[0].id, opened_at=utcnow()))
        db.session.commit()
    login_as("resident", verified=False)  # signed in, but voting with the card
    assert web.post(f"/onsite/{event.id}", {"code": CARD}).status_code == 302
    page = text(client.get(f"/onsite/{event.id}/ballots"))
    assert SENTENCES_EN["open"] in page and step_button(page) is None


@pytest.mark.parametrize("mode", ["open", "phone", "roll"])
def test_the_mode_in_korean(client, app, login_as, mode):
    event = mode_event(app, mode)
    assert SENTENCES_KO[mode] in text(client.get(f"/events/{event.id}"))
    login_as("resident", verified=mode != "open")
    page = text(client.get(f"/events/{event.id}/vote"))
    assert SENTENCES_KO[mode] in page
    labels = {"open": "내 계정으로 가기", "phone": "휴대폰 인증하기", "roll": "명부에서 내 이름 찾기"}
    button = re.search(r'id="eligibility-step"[^>]*>([^<]+)<', page).group(1)
    assert button.strip() == labels[mode]
    assert "투표하려면 먼저" in page


def test_a_confirmed_phone_ends_the_step(client, app, login_as, english):
    """The same resident, before and after the phone becomes their elector (as the phone page does)."""
    event = mode_event(app, "phone")
    resident = login_as("resident")
    assert step_button(text(client.get(f"/events/{event.id}"))) is not None
    with app.app_context():
        elector_factories.phone_elector(event.id, "010-7777-8888", user_id=resident.id)
        db.session.commit()
    assert step_button(text(client.get(f"/events/{event.id}"))) is None
