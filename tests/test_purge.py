"""The personal-data lifecycle: `voting purge` (dry run, --apply), the destruction ledger page and its CSV.

The world: an event ("due") whose results were published on 2024-01-15 (Seoul) and are kept 6
months, so kept through 2024-07-15 and due from 2024-07-16; an event published yesterday ("kept")
and one never published ("open"), each with personal data of every class that must stay.
"""
import csv
import html
import io
import re
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from tests import elector_factories, factories
from tests.conftest import Browserless, database_rows
from voting.accounts.models import User, VotingGroup
from voting.ballots import operations as ballots
from voting.ballots.models import OnsiteSession
from voting.database import utcnow
from voting.electors import purge as lifecycle
from voting.electors.challenges import start_challenge
from voting.electors.models import (
    CardBinding, DestructionRecord, Elector, LinkChannel, LinkDispatch, PersonalLink, RollEntry, SmsChallenge,
)
from voting.events.models import Event, EventState
from voting.exports import operations as exports
from voting.extensions import db
from voting.identity import parse_phone
from voting.nominations.models import Nomination, NominationPhoto
from voting.results import operations as results
from voting.results.models import ResultSnapshot

PUBLISHED_AT = datetime(2024, 1, 15, 1, 30, tzinfo=timezone.utc)  # 10:30 in Seoul
LAST_DAY_KEPT, FIRST_DAY_DUE = "2024-07-15", "2024-07-16"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
EXPECTED = {  # what the due event has to destroy, class by class
    "resident_accounts": 2, "sms_challenges": 2, "personal_links": 2, "link_dispatches": 1,
    "elector_phones": 4, "roll_entries": 3, "nominee_data": 2,
}
KOREAN_HEADER = ["번호", "행사", "파기한 개인정보", "건수", "파기 일시(서울 시각)", "파기 근거", "파기한 사람"]
KEPT_TABLES = ("result_snapshots", "ballots", "ballot_approvals", "participations", "audit_log", "card_bindings",
               "onsite_codes", "paper_totals", "score_sheets")


def text(response):
    return html.unescape(response.get_data(as_text=True))


def _challenge(event, phone, **kwargs):
    start_challenge(event, kwargs.pop("purpose", "phone"), parse_phone(phone), **kwargs)


def _link(event_id, elector_id, dispatch=None, token="a"):
    db.session.add(PersonalLink(elector_id=elector_id, dispatch=dispatch, channel=LinkChannel.SMS,
                                token_hash=token * 64, expires_at=utcnow() + timedelta(days=1)))


def _publish(event, organizer, published_at):
    event.state = EventState.CLOSED
    db.session.flush()
    results.freeze_results(event, organizer)
    results.publish_results(event, organizer)
    db.session.scalar(select(ResultSnapshot).where(ResultSnapshot.event_id == event.id)).published_at = published_at


def _vote(category_id, elector, choices):
    ballots.record_ballot(category_id, ballots.Voter(elector_id=elector.id, link_group=VotingGroup.RESIDENT), choices)


def build(app):
    with app.app_context():
        organizer = factories.user("organizer")
        staff = factories.user("staff")
        nominator = factories.user("resident")
        closed_here = factories.user("resident", enabled=False, name="닫힌 주민")  # took part in the due event only
        closed_both = factories.user("resident", enabled=False)  # also nominated in the kept event
        closed_nominator = factories.user("resident", enabled=False)  # nominated a non-finalist in the due event
        closed_elsewhere = factories.user("resident", enabled=False)  # took part in nothing
        live = factories.user("resident")  # enabled: a live account keeps its data

        due = factories.event(phase="voting", eligibility="roll", name="파기할 행사")
        kept = factories.event(phase="voting", eligibility="phone", name="보관 중인 행사")
        still_open = factories.event(phase="voting", eligibility="phone", name="진행 중인 행사")
        practice, person = due.categories

        a, b = (factories.nomination(due.id, nominator_id=nominator.id, state="finalist", title=t).id for t in "AB")
        finalist_person = factories.nomination(due.id, nominator_id=nominator.id, category_index=1, state="finalist",
                                               title="본선 인물")
        rejected_person = factories.nomination(due.id, nominator_id=closed_nominator.id, category_index=1,
                                               state="rejected", title="떨어진 인물")
        rejected_person.consent_method = "전화로 동의 받음"
        rejected_person.photo = NominationPhoto(data=PNG, mime_type="image/png", width=1, height=1)
        submitted_person = factories.nomination(due.id, nominator_id=nominator.id, category_index=1, title="심사 전 인물")
        rejected_practice = factories.nomination(due.id, nominator_id=nominator.id, state="rejected", title="떨어진 사업")
        rejected_practice.photo = NominationPhoto(data=PNG, mime_type="image/png", width=1, height=1)
        finalist_person.photo = NominationPhoto(data=PNG, mime_type="image/png", width=1, height=1)
        factories.nomination(kept.id, nominator_id=closed_both.id, category_index=1, state="rejected")

        # The due event's roll: three entries, two claimed by accounts; a walk-in confirmed at the desk with a card.
        _e1, roll_here = elector_factories.roll_entry(due.id, "김하나", "010-1111-0001", user_id=closed_here.id)
        _e2, roll_live = elector_factories.roll_entry(due.id, "이둘", "010-1111-0002", user_id=live.id)
        e3, roll_link = elector_factories.roll_entry(due.id, "박셋", "010-1111-0003")
        walk_in = elector_factories.phone_elector(due.id, "010-1111-0004", user_id=closed_both.id)
        card = elector_factories.card(due.id, organizer.id, "CARD-4PUR-GE1")
        elector_factories.bind(card.id, walk_in.id, staff.id)
        _challenge(due, "010-1111-0001", purpose="claim", user=closed_here, roll_entry=_e1)
        _challenge(due, "010-1111-0004", purpose="desk")
        dispatch = LinkDispatch(event_id=due.id, channel=LinkChannel.SMS, created_by_id=organizer.id)
        db.session.add(dispatch)
        _link(due.id, roll_link.id, dispatch, "a")
        _link(due.id, roll_here.id, None, "b")
        db.session.add(OnsiteSession(category_id=practice.id, opened_at=utcnow()))
        db.session.flush()

        _vote(practice.id, roll_here, [a])
        _vote(practice.id, roll_live, [a, b])
        _vote(person.id, roll_link, [finalist_person.id])
        ballots.record_ballot(practice.id, ballots.Voter(code=card), [a])

        # The kept and the open events: the same kinds of data, none of it due.
        for other in (kept, still_open):
            entry, elector = elector_factories.roll_entry(other.id, "최보관", "010-2222-0001", user_id=closed_both.id)
            elector_factories.phone_elector(other.id, "010-2222-0002")
            _challenge(other, "010-2222-0002")
            other_dispatch = LinkDispatch(event_id=other.id, channel=LinkChannel.MAIL, created_by_id=organizer.id)
            db.session.add(other_dispatch)
            _link(other.id, elector.id, other_dispatch, "c" if other is kept else "d")
        db.session.flush()

        _publish(due, organizer, PUBLISHED_AT)
        _publish(kept, organizer, utcnow() - timedelta(days=1))
        db.session.commit()
        return {
            "due": due.id, "kept": kept.id, "open": still_open.id, "organizer": organizer.email,
            "closed_here": closed_here.id, "closed_both": closed_both.id, "closed_nominator": closed_nominator.id,
            "closed_elsewhere": closed_elsewhere.id, "live": live.id,
            "rejected_person": rejected_person.id, "submitted_person": submitted_person.id,
            "finalist_person": finalist_person.id, "rejected_practice": rejected_practice.id,
            "roll_electors": [roll_here.id, roll_live.id, roll_link.id], "walk_in": walk_in.id, "card": card.id,
            "roll_entry": e3.id,
        }


@pytest.fixture
def world(app):
    return build(app)


def purge_cli(app, *args):
    result = app.test_cli_runner().invoke(args=["voting", "purge", *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def printed_counts(output, event_id):
    """{class: count} printed for one event."""
    block = output.split(f"event {event_id} ", 1)[1].split("\nevent ", 1)[0]
    return {key: int(number) for key, number in re.findall(r"^  (\w+)\s+(\d+)", block, re.M) if key != "total"}


def exported(app, event_id):
    with app.app_context():
        event = db.session.get(Event, event_id)
        return {fmt: exports.export_file(event, fmt).data for fmt in ("bundle", "csv")}


def kept_tables(app):
    rows = database_rows(app)
    return {name: rows[name] for name in KEPT_TABLES}


def other_events_rows(app, world):
    """Every personal-data row of the kept and the open events."""
    with app.app_context():
        others = [world["kept"], world["open"]]
        return {
            "roll": db.session.execute(select(RollEntry.id, RollEntry.name, RollEntry.phone_hmac)
                                       .where(RollEntry.event_id.in_(others)).order_by(RollEntry.id)).all(),
            "electors": db.session.execute(select(Elector.id, Elector.phone_hmac, Elector.phone_last4, Elector.roll_entry_id)
                                           .where(Elector.event_id.in_(others)).order_by(Elector.id)).all(),
            "challenges": db.session.scalars(select(SmsChallenge.id).where(SmsChallenge.event_id.in_(others))).all(),
            "links": db.session.scalars(select(PersonalLink.id).join(Elector).where(Elector.event_id.in_(others))).all(),
            "dispatches": db.session.scalars(select(LinkDispatch.id).where(LinkDispatch.event_id.in_(others))).all(),
        }


# ---------------------------------------------------------------- when


def test_retention_counts_calendar_months_in_seoul():
    assert lifecycle.add_months(date(2024, 1, 15), 6) == date(2024, 7, 15)
    assert lifecycle.add_months(date(2023, 8, 31), 6) == date(2024, 2, 29)
    assert lifecycle.add_months(date(2023, 8, 31), 18) == date(2025, 2, 28)
    assert lifecycle.add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)
    assert lifecycle.add_months(date(2024, 12, 1), 60) == date(2029, 12, 1)
    # 23:30 UTC on Jan 14 is already Jan 15 in Seoul.
    retention = lifecycle.Retention(1, "x", 6, datetime(2024, 1, 14, 23, 30, tzinfo=timezone.utc))
    assert retention.published_on == date(2024, 1, 15) and retention.kept_until == date(2024, 7, 15)
    assert not retention.is_due(date(2024, 7, 15)) and retention.is_due(date(2024, 7, 16))
    assert not lifecycle.Retention(2, "y", 6, None).is_due(date(2100, 1, 1))


# ---------------------------------------------------------------- the command


def test_dry_run_prints_the_counts_and_changes_nothing(app, world):
    before = database_rows(app)
    output = purge_cli(app, "--today", FIRST_DAY_DUE)
    assert database_rows(app) == before
    assert output.startswith(f"dry run as of {FIRST_DAY_DUE}: nothing is destroyed")
    assert f"event {world['due']} 파기할 행사: results published 2024-01-15, kept until {LAST_DAY_KEPT}" in output
    assert printed_counts(output, world["due"]) == EXPECTED
    assert re.search(rf"^  total\s+{sum(EXPECTED.values())}$", output, re.M)
    assert f"event {world['kept']} 보관 중인 행사: not due (kept until" in output
    assert f"event {world['open']} 진행 중인 행사: not due (results not published: kept)" in output


def test_nothing_is_due_on_the_last_day_kept(app, world):
    before = database_rows(app)
    output = purge_cli(app, "--today", LAST_DAY_KEPT, "--apply")
    assert "no event is due" in output
    assert database_rows(app) == before


def test_apply_destroys_every_class_and_keeps_results_and_bundle(app, world):
    files_before, kept_before, others_before = exported(app, world["due"]), kept_tables(app), other_events_rows(app, world)
    with app.app_context():
        electors_before = db.session.scalar(select(func.count()).select_from(Elector))
        nominations_before = db.session.scalar(select(func.count()).select_from(Nomination))
        finalist_before = db.session.get(Nomination, world["finalist_person"])
        finalist_before = (finalist_before.nominee_name, finalist_before.nominee_affiliation,
                           finalist_before.consent_given_at, finalist_before.consent_version)
        users_before = {u.id: (u.email, u.name, u.password_hash) for u in db.session.scalars(select(User))}

    output = purge_cli(app, "--today", FIRST_DAY_DUE, "--apply")
    assert output.startswith(f"destroyed as of {FIRST_DAY_DUE}: {sum(EXPECTED.values())} records of 1 due events; "
                             f"{len(EXPECTED)} lines written")
    assert printed_counts(output, world["due"]) == EXPECTED

    # Never touched: results, snapshot, bundle, ballots, participations, bindings, the audit log; other events.
    assert exported(app, world["due"]) == files_before
    assert kept_tables(app) == kept_before
    assert other_events_rows(app, world) == others_before

    with app.app_context():
        due = world["due"]
        assert db.session.scalar(select(func.count()).select_from(RollEntry).where(RollEntry.event_id == due)) == 0
        electors = db.session.scalars(select(Elector).where(Elector.event_id == due)).all()
        assert len(electors) == 4 and db.session.scalar(select(func.count()).select_from(Elector)) == electors_before
        assert all(e.phone_hmac is None and e.phone_last4 is None and e.roll_entry_id is None for e in electors)
        assert {e.id: e.user_id for e in electors}[world["walk_in"]] == world["closed_both"]
        assert db.session.get(CardBinding, world["card"]).elector_id == world["walk_in"]  # staff id kept too
        assert db.session.get(CardBinding, world["card"]).bound_by_id is not None
        assert db.session.scalar(select(func.count()).select_from(SmsChallenge).where(SmsChallenge.event_id == due)) == 0
        assert db.session.scalar(select(func.count()).select_from(LinkDispatch).where(LinkDispatch.event_id == due)) == 0
        assert db.session.scalar(select(func.count()).select_from(PersonalLink).join(Elector)
                                 .where(Elector.event_id == due)) == 0

        for key in ("closed_here", "closed_nominator"):
            user = db.session.get(User, world[key])
            assert user.email == f"user-{user.id}@erased.invalid" and user.name == "" and user.password_hash is None
            assert not user.is_active and user.email_verified_at is None
        for key in ("closed_both", "closed_elsewhere", "live"):
            user = db.session.get(User, world[key])
            assert (user.email, user.name, user.password_hash) == users_before[user.id], key

        for key in ("rejected_person", "submitted_person"):
            nomination = db.session.get(Nomination, world[key])
            assert (nomination.nominee_name, nomination.nominee_affiliation, nomination.consent_given_at,
                    nomination.consent_version, nomination.consent_method, nomination.photo) == (None,) * 6
            assert nomination.title  # the row stays, for the counts
        assert db.session.scalar(select(func.count()).select_from(Nomination)) == nominations_before
        finalist = db.session.get(Nomination, world["finalist_person"])
        assert (finalist.nominee_name, finalist.nominee_affiliation, finalist.consent_given_at,
                finalist.consent_version) == finalist_before and finalist.photo is not None
        assert db.session.get(NominationPhoto, world["rejected_practice"]) is not None

        records = db.session.scalars(select(DestructionRecord).order_by(DestructionRecord.id)).all()
        assert {r.data_class: r.count for r in records} == EXPECTED
        assert {(r.event_id, r.event_name, r.destroyed_by) for r in records} == {(due, "파기할 행사", "cli")}
        assert len({r.destroyed_at for r in records}) == 1
        assert all("2024-01-15" in r.rule and LAST_DAY_KEPT in r.rule and "6" in r.rule for r in records)


def test_a_second_run_destroys_nothing_and_writes_nothing(app, world):
    purge_cli(app, "--today", FIRST_DAY_DUE, "--apply")
    before = database_rows(app)
    output = purge_cli(app, "--today", "2025-01-01", "--apply")
    assert database_rows(app) == before
    assert "0 lines written" in output
    assert printed_counts(output, world["due"]) == dict.fromkeys(EXPECTED, 0)


def test_later_the_kept_event_is_due_in_its_turn(app, world):
    """Once every event the account took part in is due, its contact data goes too."""
    purge_cli(app, "--today", FIRST_DAY_DUE, "--apply")
    far = (utcnow() + timedelta(days=400)).date().isoformat()
    output = purge_cli(app, "--today", far, "--apply")
    counts = printed_counts(output, world["kept"])
    assert counts["resident_accounts"] == 0  # closed_both also took part in the open event, never published
    assert counts["roll_entries"] == 1 and counts["elector_phones"] == 2 and counts["nominee_data"] == 1
    with app.app_context():
        assert not db.session.get(User, world["closed_both"]).email.endswith("@erased.invalid")
        open_rolls = db.session.scalar(select(func.count()).select_from(RollEntry).where(RollEntry.event_id == world["open"]))
        assert open_rolls == 1


def test_two_purges_at_once_destroy_once(app, world):
    barrier, errors = threading.Barrier(2), []

    def run():
        try:
            with app.app_context():
                barrier.wait()
                lifecycle.purge(date.fromisoformat(FIRST_DAY_DUE), "cli")
                db.session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        records = db.session.scalars(select(DestructionRecord)).all()
        assert sorted((r.data_class, r.count) for r in records) == sorted(EXPECTED.items())


# ---------------------------------------------------------------- the ledger page and its CSV


@pytest.fixture
def organizer_web(web, world):
    assert web.login(world["organizer"]).status_code == 302
    return web


def test_ledger_page_shows_retention_dates_and_the_due_count(app, world, english, organizer_web):
    page = text(organizer_web.client.get("/manage/privacy"))
    due_row = page.split(f'id="retention-{world["due"]}"', 1)[1].split("</tr>", 1)[0]
    assert "Jan 15, 2024" in due_row and "Jul 15, 2024 (6 months)" in due_row
    assert f"Due: {sum(EXPECTED.values())} records to destroy" in due_row
    open_row = page.split(f'id="retention-{world["open"]}"', 1)[1].split("</tr>", 1)[0]
    assert "6 months after publication" in open_row and "Kept" in open_row
    assert 'id="purge-button"' in page and "Nothing has been destroyed yet." in page
    assert "/manage/privacy" in text(organizer_web.client.get("/manage/events"))  # linked from the events page


def test_purge_from_the_page_asks_first_then_records_the_organizer(app, world, english, organizer_web):
    before = database_rows(app)
    asking = organizer_web.post("/manage/privacy/purge", form_url="/manage/privacy")
    assert asking.status_code == 200
    page = text(asking)
    assert "This cannot be undone." in page and f"파기할 행사: {sum(EXPECTED.values())} records" in page
    assert "Roll entries (name, date of birth, phone, email, address) 3" in page
    assert database_rows(app) == before

    done = organizer_web.post("/manage/privacy/purge", {"confirmed": "yes"}, form_url="/manage/privacy",
                              follow_redirects=True)
    page = text(done)
    assert f"{sum(EXPECTED.values())} records were destroyed" in page
    with app.app_context():
        records = db.session.scalars(select(DestructionRecord)).all()
        organizer = db.session.scalar(select(User).where(User.email == world["organizer"]))
        assert {r.data_class: r.count for r in records} == EXPECTED
        assert {r.destroyed_by for r in records} == {f"{organizer.name} <{organizer.email}>"}
    ledger = page.split('id="ledger"', 1)[1]
    assert "Roll entries (name, date of birth, phone, email, address)" in ledger and "파기할 행사" in ledger
    assert 'id="purge-button"' not in page  # nothing due any more

    again = organizer_web.post("/manage/privacy/purge", {"confirmed": "yes"}, form_url="/manage/privacy",
                               follow_redirects=True)
    assert "No personal data is due for destruction today." in text(again)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DestructionRecord)) == len(EXPECTED)


def test_ledger_csv_has_a_bom_korean_headers_and_every_record(app, world, organizer_web):
    purge_cli(app, "--today", FIRST_DAY_DUE, "--apply")
    response = organizer_web.client.get("/manage/privacy/ledger.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="destruction-record-')
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == KOREAN_HEADER
    body = rows[1:]
    assert len(body) == len(EXPECTED)
    assert {row[2]: int(row[3]) for row in body} == {
        "사용 중지된 주민 계정의 연락처(이메일, 이름)": 2,
        "문자 인증 기록(휴대폰 번호와 인증번호를 알아볼 수 없게 바꾼 값)": 2,
        "개인 투표 링크": 2,
        "개인 링크 발송 기록": 1,
        "투표자의 휴대폰 인증 정보(알아볼 수 없게 바꾼 값, 끝 네 자리)": 4,
        "명부(이름, 생년월일, 휴대폰, 이메일, 주소)": 3,
        "본선에 오르지 않은 인물 후보의 개인정보(이름, 소속, 사진, 동의 기록)": 2,
    }
    assert {row[1] for row in body} == {"파기할 행사"} and {row[6] for row in body} == {"cli"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row[4]) for row in body)
    assert all("2024-01-15" in row[5] and "6개월" in row[5] for row in body)


def test_ledger_csv_is_korean_whatever_the_page_language(app, world, english, organizer_web):
    rows = list(csv.reader(io.StringIO(organizer_web.client.get("/manage/privacy/ledger.csv").data.decode("utf-8-sig"))))
    assert rows == [KOREAN_HEADER]


def test_ledger_csv_does_not_run_formulas(app, organizer_web):
    with app.app_context():
        db.session.add(DestructionRecord(event_name="=HYPERLINK(\"x\")", data_class="roll_entries", count=1,
                                         rule="r", destroyed_by="cli"))
        db.session.commit()
    rows = list(csv.reader(io.StringIO(organizer_web.client.get("/manage/privacy/ledger.csv").data.decode("utf-8-sig"))))
    assert rows[1][1] == "'=HYPERLINK(\"x\")"


def test_ledger_page_in_korean(app, world, organizer_web):
    page = text(organizer_web.client.get("/manage/privacy"))
    assert "개인정보 보관과 파기 대장" in page and "행사별 보관 기한" in page
    assert f"파기 대상: {sum(EXPECTED.values())}건" in page


@pytest.mark.parametrize("role", ["resident", "official", "judge", "staff"])
def test_other_roles_are_refused(app, world, make_user, role):
    user = make_user(role)
    web = Browserless(app.test_client())
    web.login(user.email)
    before = database_rows(app)
    assert web.client.get("/manage/privacy").status_code == 403
    assert web.client.get("/manage/privacy/ledger.csv").status_code == 403
    assert web.post("/manage/privacy/purge", {"confirmed": "yes"}, form_url="/").status_code == 403
    assert database_rows(app) == before


def test_anonymous_is_sent_to_log_in(app, world, client):
    before = database_rows(app)
    for url in ("/manage/privacy", "/manage/privacy/ledger.csv"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    web = Browserless(client)
    response = web.post("/manage/privacy/purge", {"confirmed": "yes"}, form_url="/login")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert database_rows(app) == before


def test_purge_without_a_csrf_token_changes_nothing(app, world, organizer_web):
    before = database_rows(app)
    response = organizer_web.client.post("/manage/privacy/purge", data={"confirmed": "yes"})
    assert response.status_code == 400
    assert database_rows(app) == before
