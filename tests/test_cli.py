"""The `voting` command group: create-organizer, events, demo (a phone-mode event with a roll and a staff login)."""
import re

import pytest
from sqlalchemy import func, select

from voting.accounts.models import Role, User, VotingGroup
from voting.ballots.models import Participation
from voting.database import utcnow
from voting.demo import DEMO_ACCOUNTS, EVENT_NAME, NAMES, ROLL
from voting.electors.models import EligibilityMode, Elector, ElectorKind, RollEntry
from voting.events.models import Event
from voting.extensions import db
from voting.identity import parse_phone, unseal_phone
from voting.nominations.models import Nomination, NominationState

ORGANIZER_PASSWORD = "organizer-password-1"


@pytest.fixture
def new_web(app, web):
    return lambda: type(web)(app.test_client())


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def user_by_email(app, email):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge_all()
        return user


def create_organizer(runner, email="boss@district.example", name="운영자", password=ORGANIZER_PASSWORD):
    return runner.invoke(args=["voting", "create-organizer", "--email", email, "--name", name, "--password", password])


# ---------------------------------------------------------------- create-organizer


def test_create_organizer_makes_an_account_that_can_manage_events(app, runner, new_web):
    result = create_organizer(runner, email="Boss@District.example", name="  협치 운영자 ")
    assert result.exit_code == 0, result.output
    match = re.fullmatch(r"organizer (\d+) boss@district\.example created\n", result.output)
    assert match, result.output

    with app.app_context():
        user = db.session.get(User, int(match.group(1)))
        assert user.email == "boss@district.example"
        assert user.name == "협치 운영자"
        assert user.role == Role.ORGANIZER
        assert user.email_verified
        assert user.is_active

    browser = new_web()
    assert browser.login("boss@district.example", ORGANIZER_PASSWORD).status_code == 302
    assert browser.client.get("/manage/events").status_code == 200
    assert browser.client.get("/manage/users/").status_code == 200


def test_create_organizer_strips_spaces_around_email_and_name(app, runner, new_web):
    result = create_organizer(runner, email="  Boss@District.example \t", name=" 운영자  ")
    assert result.exit_code == 0, result.output
    assert result.output == f"organizer {user_by_email(app, 'boss@district.example').id} boss@district.example created\n"
    with app.app_context():
        assert db.session.scalar(select(User.name).where(User.email == "boss@district.example")) == "운영자"
    assert new_web().login("boss@district.example", ORGANIZER_PASSWORD).status_code == 302

    result = runner.invoke(
        args=["voting", "create-organizer"],
        input=f"  asked@district.example  \n  물어본 운영자 \n{ORGANIZER_PASSWORD}\n{ORGANIZER_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert user_by_email(app, "asked@district.example").name == "물어본 운영자"


def test_create_organizer_asks_for_missing_values(app, runner):
    result = runner.invoke(
        args=["voting", "create-organizer"],
        input=f"asked@district.example\n운영자\n{ORGANIZER_PASSWORD}\n{ORGANIZER_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert count(app, User, User.email == "asked@district.example", User.role == Role.ORGANIZER) == 1


def test_create_organizer_with_a_taken_email_fails(app, runner):
    assert create_organizer(runner).exit_code == 0
    for email in ["boss@district.example", "BOSS@district.example", "Boss@District.Example"]:
        result = create_organizer(runner, email=email, name="다른 사람", password="another-password-2")
        assert result.exit_code != 0, email
        assert "already has an account" in result.output, email
        assert "Traceback" not in result.output
    assert count(app, User) == 1
    with app.app_context():
        assert db.session.scalar(select(User)).name == "운영자"


def test_create_organizer_refuses_an_email_a_resident_has(app, runner, make_user):
    make_user("resident", email="someone@district.example")
    result = create_organizer(runner, email="someone@district.example")
    assert result.exit_code != 0
    assert "already has an account" in result.output
    assert count(app, User, User.role == Role.ORGANIZER) == 0


def test_create_organizer_with_a_bad_email_fails(app, runner):
    for email in ["not-an-email", "two@@district.example", "space in@district.example", "boss@localhost", ""]:
        result = create_organizer(runner, email=email)
        assert result.exit_code != 0, email
        assert "invalid email address" in result.output, email
    assert count(app, User) == 0


def test_create_organizer_with_a_short_password_fails(app, runner):
    result = create_organizer(runner, password="short")
    assert result.exit_code != 0
    assert "at least 10 characters" in result.output
    assert count(app, User) == 0


def test_create_organizer_with_an_empty_name_fails(app, runner):
    result = create_organizer(runner, name="   ")
    assert result.exit_code != 0
    assert "the name is empty" in result.output
    assert count(app, User) == 0


# ---------------------------------------------------------------- events


def test_events_lists_one_event_a_line_id_first(app, runner, make_event):
    first = make_event(name="2019 협치 성과 공유 파티")
    second = make_event(name="2020 협치 성과 공유 파티", state="draft")
    result = runner.invoke(args=["voting", "events"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2
    ids = [int(re.match(r"(\d+)\s", line).group(1)) for line in lines]
    assert ids == [first.id, second.id]
    assert lines[0].endswith("2019 협치 성과 공유 파티")
    assert lines[1].endswith("2020 협치 성과 공유 파티")
    assert "open" in lines[0].split("\t") and "draft" in lines[1].split("\t")


def test_events_on_an_empty_database_prints_nothing(runner):
    result = runner.invoke(args=["voting", "events"])
    assert result.exit_code == 0
    assert result.output == ""


# ---------------------------------------------------------------- demo


ROLE_NAMES = {"staff": "Event staff"}


def printed_accounts(output):
    """(role, email, password) rows printed after the 'demo accounts' line."""
    lines = output.split("demo accounts", 1)[1].splitlines()[1:]
    return [tuple(line.split()) for line in lines if line.strip()]


def test_demo_builds_the_sharing_party(app, runner, new_web):
    result = runner.invoke(args=["voting", "demo"])
    assert result.exit_code == 0, result.output
    assert EVENT_NAME in result.output

    with app.app_context():
        events = db.session.scalars(select(Event)).all()
        assert [e.name for e in events] == ["2019 협치 성과 공유 파티"]
        event = events[0]
        assert [c.name for c in event.categories] == ["협치 우수사례", "협치 인물"]
        assert {f.name for f in event.fields} == {"경제산업", "교육문화", "기후환경", "보건복지보육", "제도행정"}
        assert event.accepts_nominations(), "the default phase opens nominating today"
        finalists = db.session.scalars(
            select(Nomination).where(Nomination.event_id == event.id, Nomination.state == NominationState.FINALIST)
        ).all()
        assert len(finalists) >= 15
        by_category = {c.name: [n for n in finalists if n.category_id == c.id] for c in event.categories}
        assert all(by_category.values()), "both categories have finalists"
        assert all(n.nominee_name and n.consent_given_at for n in by_category["협치 인물"])
        roles = set(db.session.scalars(select(User.role)))
        assert roles == set(Role)

    accounts = printed_accounts(result.output)
    assert {role for role, _email, _password in accounts} == {"organizer", "resident", "official", "judge", "staff"}
    assert ("staff", "staff1@demo.seodaemun.example", "demo-staff-2019") in accounts
    assert len(accounts) == len(DEMO_ACCOUNTS)
    for role, email, password in accounts:
        browser = new_web()
        assert browser.post("/language", {"lang": "en", "next": "/"}, form_url="/").status_code == 302
        response = browser.login(email, password)
        assert response.status_code == 302, f"{role} {email} cannot log in"
        page = re.sub(r"\s+", " ", browser.client.get("/account").get_data(as_text=True))
        assert email in page
        assert f"<dt>Role</dt><dd>{ROLE_NAMES.get(role, role.capitalize())}</dd>" in page
        if role == "organizer":
            assert browser.client.get("/manage/events").status_code == 200
        if role == "staff":
            assert browser.client.get("/desk").status_code == 200
            assert browser.client.get("/manage/events").status_code == 403


def test_demo_event_is_in_phone_mode_with_the_demo_residents_on_its_roll(app, runner):
    result = runner.invoke(args=["voting", "demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        event = db.session.scalar(select(Event))
        assert event.eligibility == EligibilityMode.PHONE
        entries = db.session.scalars(select(RollEntry).order_by(RollEntry.phone_last4)).all()
        assert [(e.name, e.birth_date, e.email) for e in entries] == [(name, born, email) for email, name, born, _m, _d in ROLL]
        for entry, (_email, _name, _born, mobile, _dong) in zip(entries, ROLL):
            phone = parse_phone(mobile)
            assert (entry.phone_hmac, entry.phone_last4) == (phone.digest, mobile[-4:])  # no plain number stored
            assert unseal_phone(entry.phone_sealed) == phone  # the sealed copy delivers personal links
            assert entry.group == VotingGroup.RESIDENT and entry.district == "서대문구"
        electors = db.session.scalars(select(Elector)).all()
        assert sorted(e.roll_entry_id for e in electors) == sorted(e.id for e in entries)
        assert {(e.kind, e.user_id, e.group) for e in electors} == {(ElectorKind.ROLL, None, VotingGroup.RESIDENT)}
        names = {email: name for (_role, email, _password), name in zip(DEMO_ACCOUNTS, NAMES)}
        assert all(names[email] == name for email, name, _born, _m, _d in ROLL)
    # The output says how a resident gets to vote, and lists the roll before the logins.
    assert f"/events/{event.id}/phone" in result.output and "SMS_BACKEND=console" in result.output
    roll_part = result.output.split("demo roll", 1)[1].split("demo accounts", 1)[0]
    assert all(f"{name} {born.isoformat()} {mobile}" in roll_part for _e, name, born, mobile, _d in ROLL)


def test_a_demo_resident_confirms_the_roll_phone_with_the_console_code_and_votes(app, runner, new_web, capsys):
    assert runner.invoke(args=["voting", "demo", "--phase", "voting"]).exit_code == 0
    with app.app_context():
        event = db.session.scalar(select(Event))
        category = event.categories[0]
        email, _name, _born, mobile, _dong = ROLL[0]
        finalist = db.session.scalar(select(Nomination.id).join(User, User.id == Nomination.nominator_id).where(
            Nomination.category_id == category.id, Nomination.state == NominationState.FINALIST,
            User.email != email).order_by(Nomination.id))  # not one of their own nominations
        event_id, category_id = event.id, category.id
    browser = new_web()
    assert browser.login(email, "demo-resident-2019").status_code == 302
    assert browser.client.get(f"/categories/{category_id}/vote").status_code == 403  # not confirmed in advance

    capsys.readouterr()
    sent = browser.post(f"/events/{event_id}/phone", {"phone": mobile, "action": "send"})
    assert sent.status_code == 200, sent.get_data(as_text=True)[:500]
    console = capsys.readouterr().err
    code = re.search(r"\[SMS to 010-5550-0001\][^\n]*?(?<!\d)(\d{6})(?!\d)", console).group(1)
    confirmed = browser.post(f"/events/{event_id}/phone", {"code": code, "action": "confirm"})
    assert confirmed.status_code == 302

    with app.app_context():
        elector = db.session.scalar(select(Elector).where(Elector.phone_hmac == parse_phone(mobile).digest))
        user_id = db.session.scalar(select(User.id).where(User.email == email))
        assert (elector.kind, elector.user_id) == (ElectorKind.ROLL, user_id)  # the roll's elector, now with the account
    page = browser.post(f"/categories/{category_id}/vote", {"approvals": [str(finalist)]})
    assert page.status_code == 200, re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)', page.get_data(as_text=True))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    cast = browser.client.post(f"/categories/{category_id}/vote/cast",
                               data={"csrf_token": token, "approvals": [str(finalist)], "action": "cast"})
    assert cast.status_code == 302 and cast.headers["Location"].endswith("/vote/receipt")
    assert count(app, Participation, Participation.elector_id == elector.id) == 1


def test_demo_twice_does_not_duplicate(app, runner):
    assert runner.invoke(args=["voting", "demo"]).exit_code == 0
    users, events, nominations = count(app, User), count(app, Event), count(app, Nomination)
    roll = count(app, RollEntry), count(app, Elector)

    result = runner.invoke(args=["voting", "demo", "--phase", "voting"])
    assert result.exit_code == 0, result.output
    assert (count(app, User), count(app, Event), count(app, Nomination)) == (users, events, nominations)
    assert (count(app, RollEntry), count(app, Elector)) == roll == (len(ROLL), len(ROLL))
    with app.app_context():
        event = db.session.scalar(select(Event))
        assert event.vote_opens_at < utcnow() < event.vote_closes_at
        assert not event.accepts_nominations(), "the second run moved the windows to the voting phase"


def test_demo_if_empty_adds_nothing_when_events_exist(app, runner, make_event):
    existing = make_event(name="기존 행사")
    users = count(app, User)
    result = runner.invoke(args=["voting", "demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "no demo data added" in result.output
    assert count(app, Event) == 1
    assert count(app, Event, Event.name == EVENT_NAME) == 0
    assert count(app, User) == users
    assert count(app, Nomination) == 0
    with app.app_context():
        assert db.session.get(Event, existing.id).name == "기존 행사"


def test_demo_if_empty_prints_no_accounts_when_none_exist(app, runner, make_event):
    make_event(name="기존 행사")
    result = runner.invoke(args=["voting", "demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "no demo accounts exist" in result.output
    assert "demo accounts (role" not in result.output
    assert not any(email in result.output for _role, email, _password in DEMO_ACCOUNTS)


def test_demo_if_empty_prints_only_the_demo_accounts_that_exist(app, runner, make_event, make_user):
    make_event(name="기존 행사")
    organizer_email, judge_email = DEMO_ACCOUNTS[0][1], DEMO_ACCOUNTS[-1][1]
    make_user("organizer", email=organizer_email)
    make_user("judge", email=judge_email)
    result = runner.invoke(args=["voting", "demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "no demo data added" in result.output
    assert printed_accounts(result.output) == [account for account in DEMO_ACCOUNTS if account[1] in (organizer_email, judge_email)]


def test_demo_if_empty_builds_on_an_empty_database(app, runner):
    result = runner.invoke(args=["voting", "demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert count(app, Event, Event.name == EVENT_NAME) == 1


def test_demo_keeps_accounts_that_exist(app, runner, make_user):
    organizer_email = DEMO_ACCOUNTS[0][1]
    existing = make_user("organizer", email=organizer_email, name="먼저 있던 운영자")
    assert runner.invoke(args=["voting", "demo"]).exit_code == 0
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == organizer_email))
        assert user.id == existing.id
        assert user.name == "먼저 있던 운영자"
        assert user.password_hash == existing.password_hash
