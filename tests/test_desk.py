"""The check-in desk (현장 접수) and the staff role (행사 도우미), through the real pages.

Staff are invited like judges and may use nothing but the desk. At the desk they find a
person on the roll (name and last four digits, both), or check a walk-in's phone with an
SMS code the person reads out; see per category whether that elector has voted (yes or
no); and bind a printed card to the elector, which then votes as that person.
"""
import html
import io
import json
import re
import threading
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from voting import sms
from voting.accounts.models import Role, User, VotingGroup
from voting.audit.models import AuditEntry
from voting.ballots.models import Ballot, Channel, OnsiteCode, OnsiteSession, Participation
from voting.database import utcnow
from voting.desk import operations as desk_operations
from voting.electors.models import CardBinding, Elector, ElectorKind, SmsChallenge
from voting.events.models import Event, EventState
from voting.extensions import db, limiter
from voting.identity import parse_phone

from tests import elector_factories, factories
from tests.conftest import Browserless, database_rows
from tests.voting_helpers import cast_online

PHONE = "010-2345-6789"
CARD = "DSKA-2TES-T01"
SPARE_CARD = "DSKA-2TES-T02"
OFFICIAL_CARD = "DSKB-2TES-T03"
OTHER_EVENT_CARD = "DSKC-2TES-T04"
REVOKED_CARD = "DSKD-2TES-T05"
USED_CARD = "DSKE-2TES-T06"
CODE_PATTERN = re.compile(r"\b(\d{6})\b")


# ---------------------------------------------------------------- helpers and fixtures


def page_of(response):
    return html.unescape(response.get_data(as_text=True))


def plain(response):
    """The page's text with the white space of the templates squeezed."""
    return re.sub(r"\s+", " ", page_of(response))


def path_of(response):
    return urlsplit(response.headers["Location"]).path


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def new_web(app, lang="en"):
    web = Browserless(app.test_client())
    if lang:
        assert web.post("/language", {"lang": lang, "next": "/"}, form_url="/").status_code == 302
    return web


def signed_in(app, email, lang="en"):
    web = new_web(app, lang)
    assert web.login(email).status_code == 302
    return web


class Outbox:
    """The text messages the console backend would have printed, kept for the test to read."""

    def __init__(self):
        self.messages = []

    def __call__(self, config, phone, text):
        self.messages.append((phone.e164, text))

    def code_for(self, phone):
        e164 = parse_phone(phone).e164
        texts = [text for to, text in self.messages if to == e164]
        assert texts, f"no text message to {phone}"
        return CODE_PATTERN.search(texts[-1]).group(1)


@pytest.fixture
def outbox(monkeypatch):
    box = Outbox()
    monkeypatch.setitem(sms.BACKENDS, "console", box)
    return box


@pytest.fixture
def desk(app):
    """A phone-mode event in its voting window, on-site voting open in its first category, two
    finalists; staff and an organizer; printed cards of every kind the desk meets."""
    limiter.reset()
    with app.app_context():
        event = factories.event(phase="voting", eligibility="phone")
        organizer = factories.user("organizer")
        staff = factories.user("staff")
        nominator = factories.user("resident")
        finalists = [factories.nomination(event.id, nominator_id=nominator.id, state="finalist", title=f"비밀 후보 {i}").id
                     for i in range(2)]
        db.session.add(OnsiteSession(category_id=event.categories[0].id, opened_at=utcnow()))
        cards = {code: elector_factories.card(event.id, organizer.id, code).id for code in (CARD, SPARE_CARD, USED_CARD)}
        cards[OFFICIAL_CARD] = elector_factories.card(event.id, organizer.id, OFFICIAL_CARD, group="official").id
        revoked = elector_factories.card(event.id, organizer.id, REVOKED_CARD)
        revoked.batch.revoked_at = utcnow()
        cards[REVOKED_CARD] = revoked.id
        other_event = factories.event(phase="voting", eligibility="phone")
        cards[OTHER_EVENT_CARD] = elector_factories.card(other_event.id, organizer.id, OTHER_EVENT_CARD).id
        # A card that voted as its own elector before any desk bound it (an open-mode start).
        used = Elector(event_id=event.id, group=VotingGroup.RESIDENT, kind=ElectorKind.CARD, code_id=cards[USED_CARD])
        db.session.add(used)
        db.session.flush()
        db.session.add(Participation(category_id=event.categories[1].id, elector_id=used.id,
                                     group=VotingGroup.RESIDENT, channel=Channel.ONSITE))
        db.session.commit()
        return SimpleNamespace(
            event_id=event.id, categories=[c.id for c in event.categories], finalists=finalists,
            staff=factories.Snapshot.of(staff), organizer=factories.Snapshot.of(organizer),
            cards=cards, other_event_id=other_event.id,
        )


@pytest.fixture
def roll_desk(app, desk):
    """A roll-mode event in its voting window, with three people on its roll (two share last digits)."""
    with app.app_context():
        event = factories.event(phase="voting", eligibility="roll")
        entries = {
            "김주민": elector_factories.roll_entry(event.id, "김주민", "010-5555-1234", dong="연희동")[1].id,
            "이웃집": elector_factories.roll_entry(event.id, "이웃집", "010-6666-1234", dong="남가좌동")[1].id,
            "박공무": elector_factories.roll_entry(event.id, "박공무", "010-7777-4321", group="official")[1].id,
        }
        db.session.commit()
        return SimpleNamespace(event_id=event.id, electors=entries)


@pytest.fixture
def staff_web(app, desk):
    return signed_in(app, desk.staff.email)


def desk_url(event_id, rest=""):
    return f"/desk/events/{event_id}{rest}"


def send_code(web, event_id, phone):
    return web.post(desk_url(event_id, "/walk-in"), {"phone": phone}, form_url=desk_url(event_id))


def type_code(web, event_id, code):
    return web.post(desk_url(event_id, "/walk-in/code"), {"code": code}, form_url=desk_url(event_id))


def check_in_by_phone(web, event_id, phone, outbox):
    """Types the phone, then the code the person reads out; returns the response to the code."""
    sent = send_code(web, event_id, phone)
    assert sent.status_code == 302 and path_of(sent) == desk_url(event_id, "/walk-in/code"), page_of(sent)[:2000]
    return type_code(web, event_id, outbox.code_for(phone))


def elector_of(response):
    assert response.status_code == 302, page_of(response)[:2000]
    match = re.fullmatch(r"/desk/events/\d+/electors/(\d+)", path_of(response))
    assert match, path_of(response)
    return int(match.group(1))


def search(web, event_id, name, last4):
    return web.post(desk_url(event_id, "/search"), {"name": name, "last4": last4}, form_url=desk_url(event_id))


def bind(web, event_id, elector_id, code):
    url = desk_url(event_id, f"/electors/{elector_id}")
    return web.post(url + "/cards", {"code": code}, form_url=url)


def field_error(response, field_id):
    match = re.search(r'<p class="error" id="%s-error">(.*?)</p>' % re.escape(field_id), page_of(response), re.S)
    return match.group(1) if match else None


def confirmed_resident(app, event_id, phone=PHONE):
    """A resident account whose phone was confirmed online: its elector (kind phone) has the account."""
    with app.app_context():
        user = factories.user("resident")
        elector = elector_factories.phone_elector(event_id, phone, user_id=user.id)
        db.session.commit()
        return factories.Snapshot.of(user), elector.id


def cast_with_card(web, event_id, category_id, finalist, code):
    assert web.post(f"/onsite/{event_id}", {"code": code}).status_code == 302
    choose = web.post(f"/onsite/{event_id}/categories/{category_id}", {"approvals": [str(finalist)]})
    assert choose.status_code == 200, page_of(choose)[:1500]
    return web.post(f"/onsite/{event_id}/categories/{category_id}/cast",
                    {"approvals": [str(finalist)], "action": "cast"},
                    form_url=f"/onsite/{event_id}/categories/{category_id}", follow_redirects=True)


def nav_of(response):
    return re.search(r'<nav class="wrap site-nav".*?</nav>', page_of(response), re.S).group(0)


# ---------------------------------------------------------------- the staff role


def upload_csv(web, content, role):
    token = web.token("/manage/users/import")
    return web.client.post("/manage/users/import", data={"csrf_token": token, "role": role,
                                                         "file": (io.BytesIO(content), "staff.csv")},
                           content_type="multipart/form-data")


def test_an_organizer_invites_staff_one_at_a_time_and_they_land_on_the_desk(app, desk, mailbox):
    organizer = signed_in(app, desk.organizer.email)
    assert "Event staff" in page_of(organizer.client.get("/manage/users/invite"))
    response = organizer.post("/manage/users/invite", {"name": "한도우", "email": "helper@district.example",
                                                       "role": "staff", "department": ""},
                              form_url="/manage/users/invite")
    assert response.status_code == 302
    with app.app_context():
        invited = db.session.scalar(select(User).where(User.email == "helper@district.example"))
        assert invited.role == Role.STAFF and invited.password_hash is None and invited.voting_group is None
    listing = page_of(organizer.client.get("/manage/users/?role=staff"))
    assert "helper@district.example" in listing and "/resend" in listing  # "Send again", as for judges
    assert organizer.post(f"/manage/users/{invited.id}/resend", {}, form_url="/manage/users/").status_code == 302
    assert len(mailbox.to("helper@district.example")) == 2

    link = urlsplit(mailbox.last_link("helper@district.example")).path
    helper = new_web(app)
    assert helper.post(link, {"password": "a-long-helper-password", "password_confirm": "a-long-helper-password"}
                       ).status_code == 302
    helper.logout()
    login = helper.post("/login", {"email": "helper@district.example", "password": "a-long-helper-password"})
    assert login.status_code == 302 and path_of(login) == "/desk"
    assert helper.client.get("/desk").status_code == 200


def test_an_organizer_invites_staff_from_a_csv_file(app, desk, mailbox):
    organizer = signed_in(app, desk.organizer.email)
    content = "이름,이메일,부서\n한도우,h1@district.example,\n김도우,h2@district.example,자치행정과\n,bad@x.example,\n"
    response = upload_csv(organizer, content.encode("utf-8"), "staff")
    assert response.status_code == 200
    assert "2 people invited" in page_of(response)
    with app.app_context():
        roles = dict(db.session.execute(select(User.email, User.role).where(User.email.like("h_@district.example"))).all())
    assert roles == {"h1@district.example": Role.STAFF, "h2@district.example": Role.STAFF}
    assert len(mailbox.to("h1@district.example")) == 1 and len(mailbox.to("h2@district.example")) == 1


def test_after_login_staff_land_on_the_desk_and_the_menu_shows_only_the_desk(app, desk):
    web = new_web(app)
    response = web.login(desk.staff.email)
    assert response.status_code == 302 and path_of(response) == "/desk"
    nav = nav_of(web.client.get("/desk"))
    links = re.findall(r'href="([^"]+)"', nav)
    assert links == ["/desk", "/account"], links
    assert "/logout" in nav
    # A page to go back to after login still wins.
    again = new_web(app)
    response = again.post("/login", {"email": desk.staff.email, "password": factories.PASSWORD,
                                     "next": desk_url(desk.event_id)})
    assert path_of(response) == desk_url(desk.event_id)
    # Organizers keep their menu, with the desk in it; residents see no desk.
    organizer = new_web(app)
    assert path_of(organizer.login(desk.organizer.email)) == "/"
    assert 'href="/desk"' in nav_of(organizer.client.get("/"))
    resident = signed_in(app, factories_user(app, "resident").email)
    assert 'href="/desk"' not in nav_of(resident.client.get("/"))


def factories_user(app, role, **kwargs):
    with app.app_context():
        user = factories.user(role, **kwargs)
        db.session.commit()
        return factories.Snapshot.of(user)


def test_staff_may_use_nothing_but_the_desk(app, desk):
    web = signed_in(app, desk.staff.email)
    event, category = desk.event_id, desk.categories[0]
    for url in ("/manage/events", f"/manage/events/{event}", "/manage/users/", "/manage/users/invite",
                f"/manage/events/{event}/codes", f"/manage/events/{event}/turnout", f"/manage/events/{event}/day",
                f"/manage/events/{event}/results", "/judging", "/my/nominations", f"/events/{event}/nominate",
                f"/events/{event}/vote", f"/categories/{category}/vote"):
        assert web.client.get(url).status_code == 403, url
    before = database_rows(app)
    token = web.token("/desk")
    for url, data in ((f"/categories/{category}/vote/cast", {"approvals": [str(desk.finalists[0])], "action": "cast"}),
                      (f"/events/{event}/nominate", {"title": "도우미의 후보"}),
                      (f"/manage/events/{event}/codes", {"group": "resident", "size": "3", "label": ""}),
                      ("/manage/users/invite", {"name": "x", "email": "x@x.example", "role": "staff"})):
        assert web.client.post(url, data={**data, "csrf_token": token}).status_code == 403, url
    assert database_rows(app) == before
    # Their own account and the public pages stay theirs.
    assert web.client.get("/account").status_code == 200
    assert web.client.get("/").status_code == 200


def test_only_staff_and_organizers_open_the_desk(app, desk):
    for role in ("resident", "official", "judge"):
        web = signed_in(app, factories_user(app, role).email)
        assert web.client.get("/desk").status_code == 403, role
        assert web.client.get(desk_url(desk.event_id)).status_code == 403, role
    anonymous = new_web(app)
    response = anonymous.client.get(desk_url(desk.event_id))
    assert response.status_code == 302 and path_of(response) == "/login"
    assert signed_in(app, desk.organizer.email).client.get(desk_url(desk.event_id)).status_code == 200


# ---------------------------------------------------------------- the event list and the modes


def test_the_desk_lists_the_open_events_that_need_check_in(app, desk, roll_desk, staff_web):
    with app.app_context():
        open_mode = factories.event(phase="voting", name="열린 방식 행사").id
        closed = factories.event(state="closed", eligibility="phone", name="끝난 행사").id
        draft = factories.event(state="draft", eligibility="roll", name="준비 중 행사").id
        db.session.commit()
    page = page_of(staff_web.client.get("/desk"))
    for event_id in (desk.event_id, roll_desk.event_id):
        assert f'href="{desk_url(event_id)}"' in page
    for event_id in (open_mode, closed, draft):
        assert f'href="{desk_url(event_id)}"' not in page
    assert staff_web.client.get(desk_url(draft)).status_code == 404


def test_an_open_mode_event_desk_says_cards_work_without_check_in(app, desk, staff_web):
    with app.app_context():
        open_mode = factories.event(phase="voting").id
        db.session.commit()
    response = staff_web.client.get(desk_url(open_mode))
    assert response.status_code == 200
    text = plain(response)
    assert "cards work without check-in" in text
    assert 'id="walk-in-form"' not in text and 'id="search-form"' not in text
    before = database_rows(app)
    refused = send_code(staff_web, open_mode, PHONE)
    assert refused.status_code == 409 and "without check-in" in plain(refused)
    assert database_rows(app) == before


def test_desk_pages_show_the_notice_and_are_never_cached(app, desk, roll_desk, staff_web):
    phone_page = staff_web.client.get(desk_url(desk.event_id))
    assert phone_page.headers["Cache-Control"] == "no-store"
    text = page_of(phone_page)
    assert 'id="privacy-notice-desk"' in text and 'id="walk-in-form"' in text and 'id="search-form"' not in text
    roll_page = page_of(staff_web.client.get(desk_url(roll_desk.event_id)))
    assert 'id="search-form"' in roll_page and 'id="walk-in-form"' in roll_page
    assert 'id="privacy-notice-desk"' in roll_page


# ---------------------------------------------------------------- the roll


def test_the_roll_is_searched_by_name_and_last_four_digits_together(app, desk, roll_desk, staff_web):
    event = roll_desk.event_id
    found = search(staff_web, event, "김주민", "1234")
    assert found.status_code == 200
    text = plain(found)
    assert "Found on the roll: 1" in text
    assert "김주민" in text and "연희동" in text and "1950" in text and "ends in 1234" in text
    assert "이웃집" not in text  # the same last four digits, another name
    chosen = f'href="{desk_url(event, "/electors/" + str(roll_desk.electors["김주민"]))}"'
    assert chosen in page_of(found)
    # Never more than name, dong, birth year and the last four digits.
    raw = found.get_data(as_text=True)
    for secret in ("5555", "01055551234", "+8210", "1950-03-01", "03-01", "3월 1일"):
        assert secret not in raw, secret

    for name, last4 in (("김주민", "9999"), ("김주", "1234"), ("이웃집", "4321"), ("김주민", "5555")):
        response = search(staff_web, event, name, last4)
        assert response.status_code == 200 and "Found on the roll: 0" in plain(response), (name, last4)
        assert 'id="no-results"' in page_of(response)

    # Spaces and the way the digits are typed do not matter.
    assert "Found on the roll: 1" in plain(search(staff_web, event, " 김 주민 ", "12 34"))


def test_a_search_needs_both_the_name_and_four_digits(app, desk, roll_desk, staff_web):
    event = roll_desk.event_id
    before = database_rows(app)
    for name, last4, field in (("", "1234", "name"), ("김주민", "", "last4"), ("김주민", "123", "last4"),
                               ("김주민", "12345", "last4"), ("김주민", "abcd", "last4"), ("x" * 101, "1234", "name"),
                               ("김\x00주민", "1234", "name")):
        response = search(staff_web, event, name, last4)
        assert response.status_code == 400, (name, last4)
        assert field_error(response, field), (name, last4)
        assert "Found on the roll" not in plain(response) and 'class="card desk-result"' not in page_of(response)
    assert database_rows(app) == before


def test_a_phone_mode_event_has_no_roll_to_search(app, desk, staff_web):
    response = search(staff_web, desk.event_id, "김주민", "1234")
    assert response.status_code == 409 and "This event has no roll" in plain(response)


def test_an_elector_page_opens_only_for_a_person_this_desk_found(app, desk, roll_desk, staff_web):
    event, elector_id = roll_desk.event_id, roll_desk.electors["김주민"]
    url = desk_url(event, f"/electors/{elector_id}")
    assert staff_web.client.get(url).status_code == 404  # no browsing the roll by numbers
    search(staff_web, event, "김주민", "1234")
    page = staff_web.client.get(url)
    assert page.status_code == 200 and "김주민" in page_of(page) and "연희동" in page_of(page)
    # Another desk has not found that person; nor is an elector reached through another event.
    other = signed_in(app, desk.organizer.email)
    assert other.client.get(url).status_code == 404
    assert staff_web.client.get(desk_url(desk.event_id, f"/electors/{elector_id}")).status_code == 404
    assert staff_web.client.get(desk_url(event, "/electors/999999")).status_code == 404
    assert staff_web.client.get(desk_url(999999)).status_code == 404


# ---------------------------------------------------------------- walk-ins by phone


def test_a_walk_in_in_phone_mode_becomes_a_new_elector(app, desk, staff_web, outbox):
    sent = send_code(staff_web, desk.event_id, PHONE)
    assert sent.status_code == 302
    code_page = staff_web.client.get(desk_url(desk.event_id, "/walk-in/code"))
    assert code_page.status_code == 200
    assert "ending in 6789" in plain(code_page) and "2345" not in code_page.get_data(as_text=True)
    with app.app_context():
        challenge = db.session.scalar(select(SmsChallenge))
        assert challenge.user_id == desk.staff.id and challenge.purpose.value == "desk"

    elector_id = elector_of(type_code(staff_web, desk.event_id, outbox.code_for(PHONE)))
    with app.app_context():
        elector = db.session.get(Elector, elector_id)
        assert (elector.kind, elector.group, elector.user_id) == (ElectorKind.PHONE, VotingGroup.RESIDENT, None)
        assert elector.phone_hmac == parse_phone(PHONE).digest and elector.phone_last4 == "6789"
        assert db.session.get(SmsChallenge, challenge.id).ended_at is not None
    page = staff_web.client.get(desk_url(desk.event_id, f"/electors/{elector_id}"))
    assert "This person is now registered" in plain(page) and "ends in 6789" in plain(page)
    assert "2345" not in page.get_data(as_text=True)
    # The same phone again at the desk is the same elector.
    assert elector_of(check_in_by_phone(staff_web, desk.event_id, "+82 10 2345 6789", outbox)) == elector_id
    assert count(app, Elector, Elector.event_id == desk.event_id, Elector.kind == ElectorKind.PHONE) == 1


def test_the_text_message_asks_to_read_the_code_out_to_the_staff_in_korean(app, desk, staff_web, outbox):
    """The person reads the code out at the desk, so the message cannot say "tell no one"; it is in
    the default language (Korean) even though this desk's pages are in English."""
    from flask_babel import force_locale, gettext

    assert send_code(staff_web, desk.event_id, PHONE).status_code == 302
    (to, text), = outbox.messages
    code = outbox.code_for(PHONE)
    with app.test_request_context(), force_locale("ko"):
        with app.app_context():
            name = db.session.get(Event, desk.event_id).name
        expected = gettext("[%(event)s] Check-in code: %(code)s. Read it out only to the staff at the check-in desk. "
                           "It is valid for %(minutes)d minutes.", event=name, code=code, minutes=5)
    assert to == parse_phone(PHONE).e164 and text == expected


def test_a_walk_in_whose_phone_was_confirmed_online_is_that_elector(app, desk, staff_web, outbox):
    _user, elector_id = confirmed_resident(app, desk.event_id)
    response = check_in_by_phone(staff_web, desk.event_id, "01023456789", outbox)
    assert elector_of(response) == elector_id
    page = staff_web.client.get(response.headers["Location"])
    assert "already registered" in plain(page)
    assert count(app, Elector, Elector.event_id == desk.event_id, Elector.kind == ElectorKind.PHONE) == 1


def test_a_walk_in_in_roll_mode_is_found_on_the_roll_by_phone(app, desk, roll_desk, staff_web, outbox):
    response = check_in_by_phone(staff_web, roll_desk.event_id, "010-5555-1234", outbox)
    assert elector_of(response) == roll_desk.electors["김주민"]
    page = staff_web.client.get(response.headers["Location"])
    assert "김주민 is on the roll" in plain(page)


def test_a_walk_in_not_on_the_roll_is_told_so(app, desk, roll_desk, staff_web, outbox):
    electors_before = count(app, Elector)
    response = check_in_by_phone(staff_web, roll_desk.event_id, "010-8888-0000", outbox)
    assert response.status_code == 302 and path_of(response) == desk_url(roll_desk.event_id)
    page = staff_web.client.get(response.headers["Location"])
    assert "not on the roll of this event" in plain(page)
    assert count(app, Elector) == electors_before
    # The code is spent: the code page sends back to the start.
    again = staff_web.client.get(desk_url(roll_desk.event_id, "/walk-in/code"))
    assert again.status_code == 302 and path_of(again) == desk_url(roll_desk.event_id)


def test_wrong_codes_count_and_the_fifth_ends_the_code(app, desk, staff_web, outbox):
    assert send_code(staff_web, desk.event_id, PHONE).status_code == 302
    right = outbox.code_for(PHONE)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    first = type_code(staff_web, desk.event_id, wrong)
    assert first.status_code == 400 and "4 tries left" in field_error(first, "code")
    with app.app_context():
        assert db.session.scalar(select(SmsChallenge.failures)) == 1
    # What is not 6 digits is a form error, and costs no try.
    for typed in ("", "12345", "abcdef", "1234567"):
        response = type_code(staff_web, desk.event_id, typed)
        assert response.status_code == 400 and field_error(response, "code"), typed
    with app.app_context():
        assert db.session.scalar(select(SmsChallenge.failures)) == 1
    for _try in range(3):
        type_code(staff_web, desk.event_id, wrong)
    fifth = type_code(staff_web, desk.event_id, wrong)
    assert fifth.status_code == 400 and 'id="code-spent"' in page_of(fifth)
    assert "5 times" in plain(fifth)
    late = type_code(staff_web, desk.event_id, right)
    assert late.status_code == 400 and "no longer" in plain(late)
    assert count(app, Elector, Elector.event_id == desk.event_id, Elector.kind == ElectorKind.PHONE) == 0


def test_an_expired_code_is_refused(app, desk, staff_web, outbox):
    send_code(staff_web, desk.event_id, PHONE)
    with app.app_context():
        challenge = db.session.scalar(select(SmsChallenge))
        challenge.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    page = staff_web.client.get(desk_url(desk.event_id, "/walk-in/code"))
    assert 'id="code-spent"' in page_of(page) and 'id="code-form"' not in page_of(page)
    response = type_code(staff_web, desk.event_id, outbox.code_for(PHONE))
    assert response.status_code == 400 and "expired" in plain(response)
    assert count(app, Elector, Elector.kind == ElectorKind.PHONE) == 0


def test_another_desk_cannot_finish_a_phone_check(app, desk, staff_web, outbox):
    send_code(staff_web, desk.event_id, PHONE)
    other = signed_in(app, factories_user(app, "staff").email)
    with staff_web.client.session_transaction() as session:
        under_way = dict(session["desk_walk_in"])
    with other.client.session_transaction() as session:
        session["desk_walk_in"] = under_way  # even with the session's note copied
    response = type_code(other, desk.event_id, outbox.code_for(PHONE))
    assert response.status_code == 302 and path_of(response) == desk_url(desk.event_id)
    assert count(app, Elector, Elector.kind == ElectorKind.PHONE) == 0


def test_bad_phone_numbers_are_refused_and_nothing_is_sent(app, desk, staff_web, outbox):
    before = database_rows(app)
    for typed in ("", "12345", "010-1234", "02-312-4567", "전화번호", "010" * 20, "010\x001234\x005678"):
        response = send_code(staff_web, desk.event_id, typed)
        assert response.status_code == 400, typed
        assert field_error(response, "phone"), typed
    assert outbox.messages == [] and database_rows(app) == before
    code_page = staff_web.client.get(desk_url(desk.event_id, "/walk-in/code"))
    assert code_page.status_code == 302


def test_a_failed_text_message_is_reported_and_registers_nothing(app, desk, staff_web):
    app.config["SMS_BACKEND"] = "webhook"  # without SMS_WEBHOOK_URL: the send fails
    response = send_code(staff_web, desk.event_id, PHONE)
    assert response.status_code == 503
    assert "could not be sent" in field_error(response, "phone")
    assert count(app, Elector, Elector.kind == ElectorKind.PHONE) == 0
    assert staff_web.client.get(desk_url(desk.event_id, "/walk-in/code")).status_code == 302


def test_codes_are_limited_per_phone_and_per_address(app, desk, staff_web, outbox):
    app.config.update(SMS_PHONE_RATE_LIMIT="2 per hour", SMS_ADDRESS_RATE_LIMIT="3 per hour")
    assert send_code(staff_web, desk.event_id, PHONE).status_code == 302
    assert send_code(staff_web, desk.event_id, PHONE).status_code == 302
    challenges = count(app, SmsChallenge)
    third = send_code(staff_web, desk.event_id, PHONE)
    assert third.status_code == 429 and "Too many codes" in field_error(third, "phone")
    assert count(app, SmsChallenge) == challenges and len(outbox.messages) == 2
    assert send_code(staff_web, desk.event_id, "010-3456-7890").status_code == 302
    fourth = send_code(staff_web, desk.event_id, "010-4567-8901")
    assert fourth.status_code == 429
    assert len(outbox.messages) == 3


def test_the_limit_per_phone_is_shared_with_the_residents_own_phone_page(app, desk, staff_web, outbox):
    app.config.update(SMS_PHONE_RATE_LIMIT="2 per hour")
    resident = signed_in(app, factories_user(app, "resident").email)
    url = f"/events/{desk.event_id}/phone"
    for _time in range(2):
        assert resident.post(url, {"action": "send", "phone": PHONE}).status_code in (200, 302)
    assert len(outbox.messages) == 2
    refused = send_code(staff_web, desk.event_id, PHONE)
    assert refused.status_code == 429 and len(outbox.messages) == 2


def test_two_desks_confirming_one_new_phone_at_once_make_one_elector(app, desk, outbox):
    desks = [signed_in(app, desk.staff.email), signed_in(app, factories_user(app, "staff").email)]
    codes = []
    for web in desks:
        assert send_code(web, desk.event_id, PHONE).status_code == 302
        codes.append(outbox.code_for(PHONE))
    barrier, answers = threading.Barrier(2), [None, None]

    def finish(index):
        barrier.wait()
        answers[index] = type_code(desks[index], desk.event_id, codes[index])

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [302, 302]
    assert elector_of(answers[0]) == elector_of(answers[1])
    assert count(app, Elector, Elector.kind == ElectorKind.PHONE) == 1


# ---------------------------------------------------------------- voted: yes or no


def test_the_elector_page_says_only_whether_each_category_was_voted(app, desk, outbox):
    user, elector_id = confirmed_resident(app, desk.event_id)
    staff = signed_in(app, desk.staff.email)
    assert elector_of(check_in_by_phone(staff, desk.event_id, PHONE, outbox)) == elector_id
    url = desk_url(desk.event_id, f"/electors/{elector_id}")
    before = page_of(staff.client.get(url))
    for category in desk.categories:
        assert re.search(rf'id="voted-{category}">.*?Not yet', before, re.S)

    resident = signed_in(app, user.email)
    assert cast_online(resident, desk.categories[0], [desk.finalists[1]]).status_code == 200
    after = staff.client.get(url)
    text = page_of(after)
    assert re.search(rf'id="voted-{desk.categories[0]}">[^<]*<strong[^>]*>Voted<', text)
    assert re.search(rf'id="voted-{desk.categories[1]}">.*?Not yet', text, re.S)
    for secret in ("비밀 후보", "online", "온라인"):  # never how, never by which channel
        assert secret not in text, secret


# ---------------------------------------------------------------- binding cards


@pytest.fixture
def walk_in(app, desk, staff_web, outbox):
    """A walk-in checked in by phone at the staff's desk; returns the elector id."""
    return elector_of(check_in_by_phone(staff_web, desk.event_id, PHONE, outbox))


def test_a_card_is_bound_and_audited_without_a_name_or_number(app, desk, staff_web, walk_in):
    response = bind(staff_web, desk.event_id, walk_in, CARD.lower().replace("-", " "))
    assert response.status_code == 302 and elector_of(response) == walk_in
    page = staff_web.client.get(response.headers["Location"])
    assert "The card is registered" in plain(page)
    assert re.search(r'id="cards-bound">1<', page_of(page))
    with app.app_context():
        binding = db.session.get(CardBinding, desk.cards[CARD])
        assert binding.elector_id == walk_in and binding.bound_by_id == desk.staff.id
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "card.bind"))
        code = db.session.get(OnsiteCode, desk.cards[CARD])
        assert entry.code_batch_id == code.batch_id and entry.actor_id == desk.staff.id
        assert entry.event_id == desk.event_id
        assert json.loads(entry.details) == {"elector_id": walk_in}
        assert "6789" not in entry.details and CARD not in entry.details


def test_a_second_card_for_a_lost_one_votes_as_the_same_person(app, desk, staff_web, walk_in):
    assert bind(staff_web, desk.event_id, walk_in, CARD).status_code == 302
    second = bind(staff_web, desk.event_id, walk_in, SPARE_CARD)
    assert second.status_code == 302
    assert "The earlier card still votes as the same person" in plain(staff_web.client.get(second.headers["Location"]))
    assert count(app, CardBinding, CardBinding.elector_id == walk_in) == 2
    # The first card votes; the second is then refused in that category as the same person.
    voter = new_web(app)
    assert cast_with_card(voter, desk.event_id, desk.categories[0], desk.finalists[0], CARD).status_code == 200
    again = new_web(app)
    assert again.post(f"/onsite/{desk.event_id}", {"code": SPARE_CARD}).status_code == 302
    refused = again.client.get(f"/onsite/{desk.event_id}/categories/{desk.categories[0]}")
    assert refused.status_code == 409 and "with an on-site card at" in page_of(refused)
    assert count(app, Ballot) == 1


@pytest.mark.parametrize(("typed", "message"), [
    ("ZZZZ-ZZZZ-ZZZ", "not the code of a card of this event"),
    (OTHER_EVENT_CARD, "not the code of a card of this event"),
    (REVOKED_CARD, "withdrawn by the organizers"),
    (OFFICIAL_CARD, "This card is for Officials, but this person votes with Residents"),
    (USED_CARD, "already been used to vote without check-in"),
])
def test_a_card_that_cannot_be_bound_is_refused_and_nothing_changes(app, desk, staff_web, walk_in, typed, message):
    before = database_rows(app)
    response = bind(staff_web, desk.event_id, walk_in, typed)
    assert response.status_code == 409
    assert message in field_error(response, "code")
    assert database_rows(app) == before


def test_a_card_bound_to_someone_is_refused(app, desk, staff_web, walk_in, outbox):
    assert bind(staff_web, desk.event_id, walk_in, CARD).status_code == 302
    other = elector_of(check_in_by_phone(staff_web, desk.event_id, "010-3456-7890", outbox))
    before = database_rows(app)
    response = bind(staff_web, desk.event_id, other, CARD)
    assert response.status_code == 409 and "already registered to another person" in field_error(response, "code")
    same = bind(staff_web, desk.event_id, walk_in, CARD)
    assert same.status_code == 409 and "already registered to this person" in field_error(same, "code")
    assert database_rows(app) == before


def test_no_card_is_bound_once_the_results_are_frozen(app, desk, staff_web, walk_in):
    with app.app_context():
        db.session.get(Event, desk.event_id).state = EventState.FROZEN
        db.session.commit()
    page = staff_web.client.get(desk_url(desk.event_id, f"/electors/{walk_in}"))
    assert 'id="desk-closed"' in page_of(page) and 'id="bind-form"' not in page_of(page)
    assert "frozen" in plain(page)
    before = database_rows(app)
    response = bind(staff_web, desk.event_id, walk_in, CARD)
    assert response.status_code == 409 and "frozen" in plain(response) and 'id="bind-form"' not in page_of(response)
    assert send_code(staff_web, desk.event_id, "010-3456-7890").status_code == 409
    assert database_rows(app) == before


def test_bad_card_input_is_a_form_error_and_changes_nothing(app, desk, staff_web, walk_in):
    before = database_rows(app)
    for typed in ("", "   ", "x" * 41, "DSKA\x002TES-T01", "가나다라"):
        response = bind(staff_web, desk.event_id, walk_in, typed)
        assert response.status_code in (400, 409), typed
        assert field_error(response, "code"), typed
    # Without the CSRF token the form is refused before anything is read.
    url = desk_url(desk.event_id, f"/electors/{walk_in}/cards")
    assert staff_web.client.post(url, data={"code": CARD}).status_code == 400
    # An elector of another event, or one this desk never found, is a 404.
    assert bind(staff_web, desk.other_event_id, walk_in, CARD).status_code == 404
    assert staff_web.client.post(desk_url(desk.event_id, "/electors/abc/cards"), data={}).status_code == 404
    assert database_rows(app) == before


def test_two_desks_binding_one_card_at_once_bind_it_once(app, desk, outbox):
    first, second = signed_in(app, desk.staff.email), signed_in(app, desk.organizer.email)
    electors = [elector_of(check_in_by_phone(first, desk.event_id, PHONE, outbox)),
                elector_of(check_in_by_phone(second, desk.event_id, "010-3456-7890", outbox))]
    tokens = [web.token(desk_url(desk.event_id, f"/electors/{e}")) for web, e in zip((first, second), electors)]
    barrier, answers = threading.Barrier(2), [None, None]

    def post(index):
        web = (first, second)[index]
        barrier.wait()
        answers[index] = web.client.post(desk_url(desk.event_id, f"/electors/{electors[index]}/cards"),
                                         data={"code": CARD, "csrf_token": tokens[index]})

    threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [302, 409]
    refused = next(a for a in answers if a.status_code == 409)
    assert "already registered to another person" in field_error(refused, "code")
    assert count(app, CardBinding) == 1
    assert count(app, AuditEntry, AuditEntry.action == "card.bind") == 1


def test_a_binding_that_loses_the_race_at_the_database_is_the_refusal(app, desk, staff_web, walk_in, outbox,
                                                                     monkeypatch):
    """The desk's own check passed, but another desk committed first: the key on the card decides."""
    other = elector_of(check_in_by_phone(staff_web, desk.event_id, "010-3456-7890", outbox))
    assert bind(staff_web, desk.event_id, other, CARD).status_code == 302
    monkeypatch.setattr(desk_operations, "_holder_of", lambda code_id: None)
    before = database_rows(app)
    response = bind(staff_web, desk.event_id, walk_in, CARD)
    assert response.status_code == 409 and "already registered to another person" in field_error(response, "code")
    assert database_rows(app) == before


# ---------------------------------------------------------------- the bound card votes as its elector


def test_a_bound_card_votes_as_the_person_and_their_online_vote_is_then_refused(app, desk, outbox):
    user, elector_id = confirmed_resident(app, desk.event_id)
    staff = signed_in(app, desk.staff.email)
    assert elector_of(check_in_by_phone(staff, desk.event_id, PHONE, outbox)) == elector_id
    assert bind(staff, desk.event_id, elector_id, CARD).status_code == 302

    voter = new_web(app)
    receipt = cast_with_card(voter, desk.event_id, desk.categories[0], desk.finalists[0], CARD)
    assert receipt.status_code == 200 and 'id="receipt-code"' in page_of(receipt)
    with app.app_context():
        participation = db.session.scalar(select(Participation).where(Participation.elector_id == elector_id))
        assert participation.channel == Channel.ONSITE and participation.category_id == desk.categories[0]

    online = signed_in(app, user.email)
    refused = online.client.get(f"/categories/{desk.categories[0]}/vote")
    assert refused.status_code == 409 and "with an on-site card at" in page_of(refused)
    before = count(app, Ballot)
    token = online.token("/")
    cast = online.client.post(f"/categories/{desk.categories[0]}/vote/cast",
                              data={"approvals": [str(desk.finalists[1])], "action": "cast", "csrf_token": token})
    assert cast.status_code == 409 and count(app, Ballot) == before == 1
    page = page_of(staff.client.get(desk_url(desk.event_id, f"/electors/{elector_id}")))
    assert re.search(rf'id="voted-{desk.categories[0]}">[^<]*<strong[^>]*>Voted<', page)


def test_an_unbound_card_is_sent_to_the_desk_and_works_once_bound(app, desk, staff_web, walk_in):
    voter = new_web(app)
    assert voter.post(f"/onsite/{desk.event_id}", {"code": CARD}).status_code == 302
    refused = voter.client.get(f"/onsite/{desk.event_id}/categories/{desk.categories[0]}")
    assert refused.status_code == 403 and "check-in desk" in page_of(refused)
    assert bind(staff_web, desk.event_id, walk_in, CARD).status_code == 302
    assert cast_with_card(voter, desk.event_id, desk.categories[0], desk.finalists[0], CARD).status_code == 200
    assert count(app, Participation, Participation.elector_id == walk_in) == 1
