"""The roll (명부): importing the organizers' CSV file, the roll page, and `voting roll import|list`."""
import html
import io
import re
import threading
from datetime import date

import pytest
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import LargeBinary, String, Text, func, select

from voting.accounts.models import VotingGroup
from voting.audit.models import AuditEntry
from voting.ballots.models import Channel, Participation
from voting.electors import roll
from voting.electors.models import Elector, ElectorKind, RollEntry
from voting.extensions import db
from voting.identity import parse_phone, unseal_phone

from tests import elector_factories, factories
from tests.conftest import Browserless

HEADER = "name,birth_date,phone,district,dong,group"
KOREAN_HEADER = "이름,생년월일,휴대폰,구,동,구분"
REPORT_LINE = re.compile(r"<li>Line (\d+): (.*?)</li>", re.S)


def roll_url(event_id):
    return f"/manage/events/{event_id}/roll"


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def entries_of(app, event_id):
    with app.app_context():
        records = db.session.scalars(select(RollEntry).where(RollEntry.event_id == event_id).order_by(RollEntry.id)).all()
        db.session.expunge_all()
        return records


def elector_of(app, entry_id):
    with app.app_context():
        elector = db.session.scalar(select(Elector).where(Elector.roll_entry_id == entry_id))
        db.session.expunge_all()
        return elector


def upload(web, event_id, data, filename="roll.csv"):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return web.post(roll_url(event_id), {"file": (io.BytesIO(data), filename)})


def reported(response):
    """[(line, message)] of the import report on the page."""
    page = response.get_data(as_text=True)
    block = re.search(r'<ul class="errors" id="import-errors">(.*?)</ul>', page, re.S)
    if block is None:
        return []
    return [(int(line), html.unescape(message)) for line, message in REPORT_LINE.findall(block.group(1))]


def report_counts(response):
    page = response.get_data(as_text=True)
    return {name: int(re.search(rf"<li>{name}: (\d+)</li>", page).group(1))
            for name in ("Added", "Updated", "Unchanged", "Refused")}


def big_roll(rows, start=0, header=HEADER):
    lines = [header] + [f"주민{i:05d},1950-01-01,010-{2000 + i // 10000:04d}-{i % 10000:04d},서대문구,연희동,주민"
                        for i in range(start, start + rows)]
    return "\n".join(lines) + "\n"


@pytest.fixture
def roll_event(make_event):
    """A roll-mode event in its voting window."""
    return make_event(phase="voting", eligibility="roll")


@pytest.fixture
def organizer(web, make_user):
    """The test client, signed in as an organizer, speaking English."""
    user = make_user("organizer")
    assert web.login(user.email).status_code == 302
    assert web.post("/language", {"lang": "en", "next": "/"}, form_url="/").status_code == 302
    return user


# ---------------------------------------------------------------- importing through the page


def test_an_english_file_puts_people_on_the_roll_each_with_an_elector(app, web, organizer, roll_event):
    text = (f"{HEADER}\n"
            "김순자,1950-03-01,010-2345-6789,서대문구,연희동,resident\n"
            "이공무,1971-12-31,010 8765 4321,서대문구,신촌동,official\n")
    response = upload(web, roll_event.id, text)
    assert response.status_code == 200
    assert report_counts(response) == {"Added": 2, "Updated": 0, "Unchanged": 0, "Refused": 0}
    assert reported(response) == []

    kim, lee = entries_of(app, roll_event.id)
    assert (kim.name, kim.birth_date, kim.district, kim.dong, kim.group) == (
        "김순자", date(1950, 3, 1), "서대문구", "연희동", VotingGroup.RESIDENT)
    assert (lee.name, lee.group, lee.phone_last4, lee.email) == ("이공무", VotingGroup.OFFICIAL, "4321", None)
    with app.app_context():
        assert kim.phone_hmac == parse_phone("010-2345-6789").digest
        assert unseal_phone(kim.phone_sealed).e164 == "+821023456789"
    for entry in (kim, lee):
        elector = elector_of(app, entry.id)
        assert (elector.event_id, elector.kind, elector.group, elector.user_id) == (
            roll_event.id, ElectorKind.ROLL, entry.group, None)
        assert (elector.phone_hmac, elector.phone_last4) == (entry.phone_hmac, entry.phone_last4)

    with app.app_context():
        audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "roll.import")).all()
        assert [(a.event_id, a.actor_id, a.details) for a in audit] == [
            (roll_event.id, organizer.id, '{"added":2,"refused":0,"unchanged":0,"updated":0}')]


def test_a_korean_header_in_another_order_with_emails(app, web, organizer, roll_event):
    text = ("구분,휴대폰,이름,이메일,동,구,생년월일\n"
            "주민,010-2345-6789,김순자,Kim.Soonja@Example.COM,연희동,서대문구,1950-03-01\n"
            "공무원,010-3456-7890,박공무,,신촌동,서대문구,1980-07-15\n")
    response = upload(web, roll_event.id, text)
    assert report_counts(response)["Added"] == 2 and reported(response) == []
    kim, park = entries_of(app, roll_event.id)
    assert (kim.name, kim.email, kim.group, kim.dong, kim.birth_date) == (
        "김순자", "kim.soonja@example.com", VotingGroup.RESIDENT, "연희동", date(1950, 3, 1))
    assert (park.name, park.email, park.group) == ("박공무", None, VotingGroup.OFFICIAL)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp949"])
def test_excel_files_in_utf8_with_a_bom_or_cp949(app, web, organizer, roll_event, encoding):
    text = f"{KOREAN_HEADER}\r\n홍길동,1948-08-15,010-2345-6789,서대문구,북가좌제1동,주민\r\n"
    data = text.encode(encoding)
    assert data.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    response = upload(web, roll_event.id, data)
    assert report_counts(response)["Added"] == 1, reported(response)
    [entry] = entries_of(app, roll_event.id)
    assert (entry.name, entry.dong) == ("홍길동", "북가좌제1동")


@pytest.mark.parametrize(("data", "message"), [
    (b"name,birth_date\x00,phone\n", "This is not a CSV text file."),
    ("이름,생년월일".encode("utf-16"), "This is not a CSV text file."),
    (b"\xff\xfe\xfa\xff,\xff\n", "The file's characters could not be read."),
    (b"", "The file is empty."),
    (f"{HEADER}\n\n".encode(), "The file has no rows under its header."),
    (b"x" * (2 * 1024 * 1024 + 1), "The file is larger than 2 MB."),
])
def test_a_file_that_cannot_be_read_is_refused_whole(app, web, organizer, roll_event, data, message):
    from tests.conftest import database_rows

    before = database_rows(app)
    response = upload(web, roll_event.id, data)
    assert response.status_code == 200
    assert message in html.unescape(response.get_data(as_text=True))
    assert database_rows(app) == before


@pytest.mark.parametrize(("header", "expected"), [
    ("name,birth_date,phone,district,dong,group,nickname", "Unknown columns: nickname."),
    ("name,birth_date,district,dong,group", "Missing columns: phone."),
    ("이름,생년월일,휴대폰,구,동", "Missing columns: group."),
    ("name,이름,birth_date,phone,district,dong,group", "Columns named twice: 이름."),
    ("홍길동,1950-03-01,010-2345-6789,서대문구,연희동,주민", "Unknown columns: 홍길동, 1950-03-01"),
])
def test_a_wrong_header_is_one_clear_error_for_the_whole_file(app, web, organizer, roll_event, header, expected):
    response = upload(web, roll_event.id, f"{header}\n김순자,1950-03-01,010-2345-6789,서대문구,연희동,주민\n")
    page = html.unescape(response.get_data(as_text=True))
    assert expected in page
    assert "The first line must name the columns: name,birth_date,phone,district,dong,group" in page
    assert "이름,생년월일,휴대폰,구,동,구분" in page
    assert 'id="import-report"' not in page
    assert count(app, RollEntry) == 0


def test_every_bad_row_is_reported_by_its_line_and_the_good_rows_are_kept(app, web, organizer, roll_event):
    lines = [
        HEADER,                                                           # 1
        "김순자,1950-03-01,010-2345-6789,서대문구,연희동,주민",                # 2 good
        "이영희,1950/03/01,010-2345-0001,서대문구,연희동,주민",                # 3 date format
        "박철수,1950-02-30,010-2345-0002,서대문구,연희동,주민",                # 4 no such date
        "최민수,1950-03-01,010-2345-0003,서대문구,연희동,주민등록",            # 5 group
        "정하나,1950-03-01,010-12,서대문구,연희동,주민",                       # 6 not a number
        "강두리,1950-03-01,02-2123-4567,서대문구,연희동,주민",                 # 7 landline
        ",1950-03-01,010-2345-0004,서대문구,연희동,주민",                      # 8 no name
        "김순자,1950-03-01,01023456789,서대문구,연희동,주민",                  # 9 phone of line 2 again
        "",                                                               # 10 blank: skipped
        '"윤\n세나",1950-03-01,010-2345-0005,서대문구,연희동,주민',            # 11-12 a row over two lines
        "한가람,1950-03-01,010-2345-0006,서대문구,연희동,공무원",               # 13 good
        "오미래,2999-01-01,010-2345-0007,서대문구,연희동,주민",                # 14 born in the future
        "서옛날,1899-12-31,010-2345-0008,서대문구,연희동,주민",                # 15 before 1900
        "남다섯,1950-03-01,010-2345-0009,서대문구,연희동",                     # 16 a value short
        '"배,쉼표",1950-03-01,010-2345-0010,"서대문구",연희동,주민',            # 17 good: a quoted comma
        "문여럿,19500301,070-1234-5678,서대문구,연희동,",                      # 18 three problems
    ]
    response = upload(web, roll_event.id, "\n".join(lines) + "\n")
    assert response.status_code == 200
    assert reported(response) == [
        (3, "Write the date of birth as year-month-day, for example 1950-03-01."),
        (4, "There is no such date as 1950-02-30."),
        (5, "The group must be 주민 (resident) or 공무원 (official)."),
        (6, "The mobile number is not valid. Write it like 010-1234-5678."),
        (7, "This is not a mobile number (it may be a landline). Write a mobile number, for example 010-1234-5678."),
        (8, "The name is missing."),
        (9, "This mobile number is also on line 2. Each person may be on the roll only once."),
        (11, "(This row runs from line 11 to line 12.) A value runs over two lines: remove the line break inside the quotes."),
        (14, "The date of birth 2999-01-01 cannot be right."),
        (15, "The date of birth 1899-12-31 cannot be right."),
        (16, "This line has only 5 values; the header has 6."),
        (18, "Write the date of birth as year-month-day, for example 1950-03-01. "
             "This is not a mobile number (it may be a landline). Write a mobile number, for example 010-1234-5678. "
             "The group must be 주민 (resident) or 공무원 (official)."),
    ]
    assert report_counts(response) == {"Added": 3, "Updated": 0, "Unchanged": 0, "Refused": 12}
    assert [(e.name, e.phone_last4, e.group) for e in entries_of(app, roll_event.id)] == [
        ("김순자", "6789", VotingGroup.RESIDENT), ("한가람", "0006", VotingGroup.OFFICIAL),
        ("배,쉼표", "0010", VotingGroup.RESIDENT)]
    assert count(app, Elector, Elector.event_id == roll_event.id) == 3


def test_the_reasons_are_in_plain_korean_by_default(app, web, make_user, roll_event):
    user = make_user("organizer")
    web.login(user.email)
    response = upload(web, roll_event.id, f"{KOREAN_HEADER}\n김순자,1950-02-30,010-2345-6789,서대문구,연희동,주민\n")
    page = html.unescape(response.get_data(as_text=True))
    assert "1950-02-30" in page and "Line 2" not in page
    assert re.search(r"<li>2[^<]*1950-02-30[^<]*</li>", page), page[page.find("import-errors") - 200:][:600]


def test_a_reimport_updates_people_by_their_phone(app, web, organizer, roll_event):
    first = (f"{HEADER},email\n"
             "김순자,1950-03-01,010-2345-6789,서대문구,연희동,주민,kim@example.com\n"
             "이공무,1971-12-31,010-8765-4321,서대문구,신촌동,공무원,\n")
    upload(web, roll_event.id, first)
    before = {e.phone_last4: e for e in entries_of(app, roll_event.id)}
    second = (f"{HEADER},email\n"
              "이공무,1971-12-31,+82 10-8765-4321,서대문구,신촌동,공무원,\n"         # the same, written otherwise
              "김순자,1950-03-02,01023456789,마포구,망원동,공무원,soon@example.com\n"  # everything changed but the phone
              "박새로,1990-01-01,010-3456-7890,서대문구,연희동,주민,\n")               # new
    response = upload(web, roll_event.id, second)
    assert report_counts(response) == {"Added": 1, "Updated": 1, "Unchanged": 1, "Refused": 0}
    after = {e.phone_last4: e for e in entries_of(app, roll_event.id)}
    assert len(after) == 3 and after["6789"].id == before["6789"].id and after["4321"].id == before["4321"].id
    kim = after["6789"]
    assert (kim.birth_date, kim.district, kim.dong, kim.group, kim.email) == (
        date(1950, 3, 2), "마포구", "망원동", VotingGroup.OFFICIAL, "soon@example.com")
    assert elector_of(app, kim.id).group == VotingGroup.OFFICIAL
    assert count(app, Elector, Elector.event_id == roll_event.id) == 3

    response = upload(web, roll_event.id, second)
    assert report_counts(response) == {"Added": 0, "Updated": 0, "Unchanged": 3, "Refused": 0}

    # A file without the email column leaves the addresses as they are.
    response = upload(web, roll_event.id, f"{HEADER}\n김순자,1950-03-02,010-2345-6789,마포구,합정동,공무원\n"
                                          f"박새로,1990-01-01,010-3456-7890,서대문구,연희동,주민\n")
    assert report_counts(response) == {"Added": 0, "Updated": 1, "Unchanged": 1, "Refused": 0}
    kim = {e.phone_last4: e for e in entries_of(app, roll_event.id)}["6789"]
    assert (kim.dong, kim.email) == ("합정동", "soon@example.com")


def cast_for(app, event_id, entry_id):
    """A participation of the entry's elector in the event's first category, as a cast makes it."""
    with app.app_context():
        event = db.session.get(factories.Event, event_id)
        elector = db.session.scalar(select(Elector).where(Elector.roll_entry_id == entry_id))
        db.session.add(Participation(category_id=event.categories[0].id, elector_id=elector.id, group=elector.group,
                                     channel=Channel.ONLINE))
        db.session.commit()


def test_a_voter_cannot_change_group_but_other_changes_are_taken(app, web, organizer, roll_event):
    upload(web, roll_event.id, f"{HEADER}\n김순자,1950-03-01,010-2345-6789,서대문구,연희동,주민\n"
                               f"이영희,1951-04-02,010-2345-0001,서대문구,연희동,주민\n")
    kim, lee = entries_of(app, roll_event.id)
    cast_for(app, roll_event.id, kim.id)
    cast_for(app, roll_event.id, lee.id)
    response = upload(web, roll_event.id, f"{HEADER}\n김순자,1950-03-01,010-2345-6789,마포구,망원동,공무원\n"
                                          f"이영희,1951-04-02,010-2345-0001,마포구,망원동,주민\n")
    assert reported(response) == [(2, "This person has already voted as a resident, so their group cannot change.")]
    assert report_counts(response) == {"Added": 0, "Updated": 1, "Unchanged": 0, "Refused": 1}
    kim, lee = entries_of(app, roll_event.id)
    assert (kim.group, kim.district) == (VotingGroup.RESIDENT, "서대문구"), "nothing of the refused line is taken"
    assert elector_of(app, kim.id).group == VotingGroup.RESIDENT
    assert (lee.district, lee.dong) == ("마포구", "망원동")


def test_a_phone_that_is_already_an_elector_by_phone_check_is_reported(app, web, organizer, make_event):
    event = make_event(phase="voting", eligibility="phone")
    with app.app_context():
        elector_factories.phone_elector(event.id, "010-2345-6789")
        db.session.commit()
    response = upload(web, event.id, f"{HEADER}\n김순자,1950-03-01,010-2345-6789,서대문구,연희동,주민\n"
                                     f"이영희,1951-04-02,010-2345-0001,서대문구,연희동,주민\n")
    assert reported(response) == [(2, "This mobile number is already a voter of this event through a phone check, "
                                      "so it cannot also be on the roll.")]
    assert [e.name for e in entries_of(app, event.id)] == ["이영희"]
    assert "This event's eligibility is “Mobile phone check”" in html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize(("state", "phase", "message"), [
    ("frozen", "after", "The results of this event are frozen; this can no longer change."),
    ("published", "after", "The results of this event are frozen; this can no longer change."),
    ("closed", "voting", "Voting in this event has closed, so its roll can no longer change."),
    ("open", "after", "Voting in this event has closed, so its roll can no longer change."),
])
def test_no_import_into_a_frozen_event_or_once_voting_has_closed(app, web, organizer, make_event, state, phase, message):
    from tests.conftest import database_rows

    event = make_event(state=state, phase=phase, eligibility="roll")
    page = web.client.get(roll_url(event.id)).get_data(as_text=True)
    assert message in html.unescape(page) and 'type="file"' not in page
    token = web.token("/")
    before = database_rows(app)
    response = web.client.post(roll_url(event.id), data={
        "csrf_token": token, "file": (io.BytesIO(f"{HEADER}\n김순자,1950-03-01,010-2345-6789,서대문구,연희동,주민\n".encode()),
                                      "roll.csv")})
    assert response.status_code == 200
    assert message in html.unescape(response.get_data(as_text=True))
    assert database_rows(app) == before


def test_the_upload_form_needs_a_file(app, web, organizer, roll_event):
    response = web.post(roll_url(roll_event.id), {})
    assert response.status_code == 200
    assert "Choose a CSV file." in response.get_data(as_text=True)


# ---------------------------------------------------------------- no number in the database


def test_the_database_holds_no_plain_number(app, web, organizer, roll_event):
    upload(web, roll_event.id, f"{HEADER},email\n김순자,1950-03-01,010-2345-6789,서대문구,연희동,주민,kim@example.com\n"
                               f"이영희,1951-04-02,+82 10 9876 5432,서대문구,연희동,공무원,\n")
    upload(web, roll_event.id, f"{HEADER},email\n김순자,1950-03-01,010-2345-6789,마포구,연희동,주민,kim@example.com\n")
    forbidden = ["1023456789", "23456789", "2345-6789", "2345 6789", "1098765432", "98765432", "9876-5432", "9876 5432"]
    with app.app_context():
        with db.engine.connect() as connection:
            for model in (RollEntry, Elector, AuditEntry):
                table = model.__table__
                columns = [c for c in table.columns if isinstance(c.type, (String, Text, LargeBinary))]
                assert columns
                rows = connection.execute(select(*columns)).all()
                assert rows
                for row in rows:
                    for column, value in zip(columns, row):
                        if value is None:
                            continue
                        blob = bytes(value) if isinstance(value, (bytes, memoryview)) else value.encode("utf-8")
                        for digits in forbidden:
                            assert digits.encode() not in blob, (table.name, column.name)
    assert {e.phone_last4 for e in entries_of(app, roll_event.id)} == {"6789", "5432"}


# ---------------------------------------------------------------- the roll page


def test_the_listing_shows_only_the_last_four_digits_and_the_birth_year(app, web, organizer, roll_event):
    with app.app_context():
        user = factories.user("resident")
        elector_factories.roll_entry(roll_event.id, "김순자", "010-2345-6789", birth_date=date(1950, 3, 1),
                                     user_id=user.id)
        elector_factories.roll_entry(roll_event.id, "이공무", "010-8765-4321", birth_date=date(1971, 12, 31),
                                     group="official", dong="신촌동")
        db.session.commit()
    page = web.client.get(roll_url(roll_event.id)).get_data(as_text=True)
    table = page[page.index('id="roll-entries"'):]
    assert "***-****-6789" in table and "***-****-4321" in table
    for hidden in ("2345-6789", "23456789", "8765", "1950-03-01", "03-01", "12-31"):
        assert hidden not in page, hidden
    assert re.search(r"<td>김순자</td>\s*<td>1950</td>\s*<td>\*\*\*-\*\*\*\*-6789</td>\s*<td>서대문구</td>\s*"
                     r"<td>연희동</td>\s*<td>Residents</td>\s*<td>Yes</td>", table)
    assert re.search(r"<td>이공무</td>\s*<td>1971</td>.*?<td>신촌동</td>\s*<td>Officials</td>\s*<td>No</td>", table, re.S)
    counts = page[page.index('id="roll-counts"'):page.index("</ul>", page.index('id="roll-counts"'))]
    assert "On the roll: 2" in counts and "Residents: 1" in counts and "Officials: 1" in counts
    assert "Claimed by an account: 1" in counts


def test_the_event_page_links_to_the_roll(app, web, organizer, roll_event):
    page = web.client.get(f"/manage/events/{roll_event.id}").get_data(as_text=True)
    assert f'href="/manage/events/{roll_event.id}/roll"' in page


def names_on(page):
    table = page[page.index('id="roll-entries"'):]
    return re.findall(r"<tr>\s*<td>([^<]+)</td>\s*<td>\d{4}</td>", table)


def test_search_by_name_and_last_four_digits(app, web, organizer, roll_event):
    with app.app_context():
        for name, phone in (("김순자", "010-2345-6789"), ("김철수", "010-3456-6789"), ("이순자", "010-4567-1111"),
                            ("100%_김", "010-5678-2222")):
            elector_factories.roll_entry(roll_event.id, name, phone)
        db.session.commit()
    url = roll_url(roll_event.id)

    def found(query):
        response = web.client.get(url, query_string={"q": query})
        assert response.status_code == 200
        return names_on(response.get_data(as_text=True))

    assert found("") == ["100%_김", "김순자", "김철수", "이순자"]
    assert found("김") == ["100%_김", "김순자", "김철수"]
    assert found("순자") == ["김순자", "이순자"]
    assert found("6789") == ["김순자", "김철수"]
    assert found("김순자 6789") == ["김순자"]
    assert found("6789 이순자") == []
    assert found("%_") == ["100%_김"], "LIKE wildcards are searched for as typed"
    page = web.client.get(url, query_string={"q": "678"}).get_data(as_text=True)
    assert "Type exactly the last four digits of the mobile number." in page
    assert "No one on the roll matches." in web.client.get(url, query_string={"q": "박"}).get_data(as_text=True)


def test_a_big_roll_is_shown_a_page_of_100_at_a_time(app, web, organizer, roll_event):
    response = upload(web, roll_event.id, big_roll(250))
    assert report_counts(response)["Added"] == 250
    url = roll_url(roll_event.id)
    first = web.client.get(url).get_data(as_text=True)
    assert names_on(first) == [f"주민{i:05d}" for i in range(100)]
    assert "Page 1 of 3" in first and 'rel="prev"' not in first
    third = web.client.get(url, query_string={"page": 3}).get_data(as_text=True)
    assert names_on(third) == [f"주민{i:05d}" for i in range(200, 250)]
    assert 'rel="next"' not in third and f'href="{url}?page=2"' in html.unescape(third)
    assert names_on(web.client.get(url, query_string={"page": 99}).get_data(as_text=True)) == names_on(third)
    assert names_on(web.client.get(url, query_string={"page": "x"}).get_data(as_text=True)) == names_on(first)
    searched = web.client.get(url, query_string={"q": "주민001", "page": 2}).get_data(as_text=True)
    assert names_on(searched) == [f"주민{i:05d}" for i in range(100, 200)] and "Page " not in searched


def test_the_personal_links_area_can_add_its_actions_to_each_entry(app, web, organizer, roll_event):
    with app.app_context():
        entry, elector = elector_factories.roll_entry(roll_event.id, "김순자", "010-2345-6789")
        db.session.commit()
        entry_id, elector_id = entry.id, elector.id
    original = app.jinja_env.loader
    app.jinja_env.loader = ChoiceLoader([
        DictLoader({"links/_roll_actions.html": "<span class=probe>{{ entry.id }}/{{ entry.name }}/{{ event.id }}/{{ row.elector_id }}</span>"}),
        original,
    ])
    try:
        page = web.client.get(roll_url(roll_event.id)).get_data(as_text=True)
    finally:
        app.jinja_env.loader = original
    assert f"<span class=probe>{entry_id}/김순자/{roll_event.id}/{elector_id}</span>" in page
    assert "<th scope=\"col\">Actions</th>" in page


def test_a_roll_of_5000_people_is_imported_in_one_request(app, web, organizer, roll_event):
    data = big_roll(5000)
    assert len(data.encode()) < roll.ROLL_MAX_BYTES
    response = upload(web, roll_event.id, data)
    assert response.status_code == 200
    assert report_counts(response) == {"Added": 5000, "Updated": 0, "Unchanged": 0, "Refused": 0}
    assert count(app, RollEntry, RollEntry.event_id == roll_event.id) == 5000
    assert count(app, Elector, Elector.event_id == roll_event.id, Elector.kind == ElectorKind.ROLL,
                 Elector.roll_entry_id.is_not(None)) == 5000
    response = upload(web, roll_event.id, big_roll(5000).replace("연희동", "신촌동", 1))
    assert report_counts(response) == {"Added": 0, "Updated": 1, "Unchanged": 4999, "Refused": 0}


# ---------------------------------------------------------------- races


def test_two_imports_of_the_same_file_at_once_make_no_duplicates(app, make_user, roll_event):
    data = big_roll(400).encode()
    user = make_user("organizer")
    clients = []
    for _n in range(2):
        web = Browserless(app.test_client())
        assert web.login(user.email).status_code == 302
        assert web.post("/language", {"lang": "en", "next": "/"}, form_url="/").status_code == 302
        clients.append((web, web.token(roll_url(roll_event.id))))
    start = threading.Barrier(2)
    responses = [None, None]

    def run(index):
        web, token = clients[index]
        start.wait()
        responses[index] = web.client.post(roll_url(roll_event.id), data={
            "csrf_token": token, "file": (io.BytesIO(data), "roll.csv")})

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [r.status_code for r in responses] == [200, 200]
    reports = sorted((report_counts(r) for r in responses), key=lambda c: c["Added"])
    assert reports == [{"Added": 0, "Updated": 0, "Unchanged": 400, "Refused": 0},
                       {"Added": 400, "Updated": 0, "Unchanged": 0, "Refused": 0}]
    assert count(app, RollEntry) == 400 and count(app, Elector) == 400


def test_a_phone_added_by_another_writer_meanwhile_is_read_again(app, web, organizer, roll_event, monkeypatch):
    """Between the reading of the roll and the writing, another import added the same phones:
    the unique constraint refuses the write, and the import reads the roll again."""
    upload(web, roll_event.id, big_roll(3))
    real_entries, real_others = roll._existing_entries, roll._phones_of_other_electors
    calls = []

    def stale_entries(event_id):
        calls.append(event_id)
        return {} if len(calls) == 1 else real_entries(event_id)

    def stale_others(event_id, entries):
        return set() if len(calls) == 1 else real_others(event_id, entries)

    monkeypatch.setattr(roll, "_existing_entries", stale_entries)
    monkeypatch.setattr(roll, "_phones_of_other_electors", stale_others)
    response = upload(web, roll_event.id, big_roll(4))
    assert response.status_code == 200
    assert report_counts(response) == {"Added": 1, "Updated": 0, "Unchanged": 3, "Refused": 0}
    assert len(calls) == 2
    assert count(app, RollEntry) == 4 and count(app, Elector) == 4


def test_a_conflict_that_does_not_go_away_is_reported_and_saves_nothing(app, web, organizer, roll_event, monkeypatch):
    from tests.conftest import database_rows

    upload(web, roll_event.id, big_roll(3))
    monkeypatch.setattr(roll, "_existing_entries", lambda event_id: {})
    monkeypatch.setattr(roll, "_phones_of_other_electors", lambda event_id, entries: set())
    before = database_rows(app)
    response = upload(web, roll_event.id, big_roll(4))
    assert response.status_code == 200
    assert "The roll was changed by someone else at the same moment." in html.unescape(response.get_data(as_text=True))
    assert database_rows(app) == before


# ---------------------------------------------------------------- who may


@pytest.mark.parametrize("role", ["anonymous", "resident", "official", "judge", "staff"])
def test_only_organizers_see_or_import_the_roll(app, web, make_user, roll_event, role):
    from tests.conftest import database_rows

    with app.app_context():
        elector_factories.roll_entry(roll_event.id, "김순자", "010-2345-6789")
        db.session.commit()
    if role != "anonymous":
        web.login(make_user(role).email)
    url = roll_url(roll_event.id)
    before = database_rows(app)
    page = web.client.get(url)
    response = web.client.post(url, data={"csrf_token": web.token("/login"),
                                          "file": (io.BytesIO(big_roll(2).encode()), "roll.csv")})
    if role == "anonymous":
        assert page.status_code == response.status_code == 302
        assert "/login" in page.headers["Location"]
    else:
        assert page.status_code == response.status_code == 403
    assert "김순자" not in page.get_data(as_text=True)
    assert database_rows(app) == before


def test_an_unknown_event_is_404(app, web, organizer):
    assert web.client.get(roll_url(999999)).status_code == 404


# ---------------------------------------------------------------- the command line


def test_cli_import_prints_the_report_keeps_good_rows_and_fails_on_refused_ones(app, runner, roll_event, tmp_path):
    path = tmp_path / "명부.csv"
    path.write_bytes((f"{KOREAN_HEADER}\n김순자,1950-03-01,010-2345-6789,서대문구,연희동,주민\n"
                      f"이영희,1950-02-30,010-2345-0001,서대문구,연희동,주민\n"
                      f"박공무,1970-05-05,010-2345-0002,서대문구,신촌동,공무원\n").encode("cp949"))
    result = runner.invoke(args=["voting", "roll", "import", str(roll_event.id), str(path), "--lang", "en"])
    assert result.exit_code == 1, result.output
    assert result.output == (f"event {roll_event.id} roll: 2 added, 0 updated, 0 unchanged, 1 refused\n"
                             "line 3: There is no such date as 1950-02-30.\n")
    assert [e.name for e in entries_of(app, roll_event.id)] == ["김순자", "박공무"]
    with app.app_context():
        audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "roll.import"))
        assert audit.actor_id is None and audit.event_id == roll_event.id

    good = tmp_path / "good.csv"
    good.write_text(f"{HEADER}\n김순자,1950-03-01,010-2345-6789,마포구,연희동,주민\n", encoding="utf-8-sig")
    result = runner.invoke(args=["voting", "roll", "import", str(roll_event.id), str(good)])
    assert result.exit_code == 0, result.output
    assert result.output == f"event {roll_event.id} roll: 0 added, 1 updated, 0 unchanged, 0 refused\n"

    nameless = tmp_path / "nameless.csv"
    nameless.write_text(f"{HEADER}\n,1950-03-01,010-2345-0009,서대문구,연희동,주민\n")
    result = runner.invoke(args=["voting", "roll", "import", str(roll_event.id), str(nameless)])
    assert result.exit_code == 1 and "line 2: 이름이 없습니다." in result.output, "the reasons are in Korean by default"


def test_cli_import_refuses_a_bad_file_a_frozen_event_and_an_unknown_one(app, runner, make_event, roll_event, tmp_path):
    path = tmp_path / "roll.csv"
    path.write_text(f"{HEADER}\n김순자,1950-03-01,010-2345-6789,서대문구,연희동,주민\n")
    frozen = make_event(state="frozen", phase="after")
    result = runner.invoke(args=["voting", "roll", "import", str(frozen.id), str(path)])
    assert result.exit_code == 1 and "are frozen" in result.output
    result = runner.invoke(args=["voting", "roll", "import", "999999", str(path)])
    assert result.exit_code == 1 and "no event 999999" in result.output
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("name,phone\n김순자,010-2345-6789\n")
    result = runner.invoke(args=["voting", "roll", "import", str(roll_event.id), str(wrong), "--lang", "en"])
    assert result.exit_code == 1 and "Missing columns: birth_date, district, dong, group." in result.output
    assert count(app, RollEntry) == 0


def test_cli_help_says_good_rows_are_kept(app, runner):
    result = runner.invoke(args=["voting", "roll", "import", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "The good rows are saved even when some are refused; the exit code is then 1" in text


def test_cli_list_is_tab_separated_and_never_shows_a_full_number(app, runner, roll_event):
    with app.app_context():
        user = factories.user("resident")
        kim, _e = elector_factories.roll_entry(roll_event.id, "김순자", "010-2345-6789", birth_date=date(1950, 3, 1),
                                               user_id=user.id)
        lee, _e = elector_factories.roll_entry(roll_event.id, "이공무", "010-8765-4321", birth_date=date(1971, 12, 31),
                                               group="official", dong="신촌동")
        other = factories.event()
        elector_factories.roll_entry(other.id, "다른행사", "010-1111-2222")
        db.session.commit()
        kim_id, lee_id = kim.id, lee.id
    result = runner.invoke(args=["voting", "roll", "list", str(roll_event.id)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{kim_id}\t김순자\t1950-03-01\t6789\t서대문구\t연희동\tresident\tyes",
        f"{lee_id}\t이공무\t1971-12-31\t4321\t서대문구\t신촌동\tofficial\tno",
    ]
    assert "2345" not in result.output and "8765" not in result.output
    assert runner.invoke(args=["voting", "roll", "list", "999999"]).exit_code == 1


# ---------------------------------------------------------------- reading, without the database


def test_parse_reads_quoted_values_trailing_cells_and_crlf(app):
    text = ("Name , BIRTH_DATE,Phone,District,Dong,Group,,\r\n"
            '"홍, 길동",1950-03-01,010-2345-6789,서대문구,연희동,Resident,,\r\n'
            "김순자,1950-03-01,010-2345-0001,,,공무원\r\n"
            "이영희,1950-03-01,010-2345-0002,,,주민,,,extra\r\n")
    with app.test_request_context("/?lang=en"):
        from flask_babel import force_locale

        with force_locale("en"):
            rows, errors = roll.parse_roll(text)
    assert [(r.line, r.name, r.group, r.district) for r in rows] == [
        (2, "홍, 길동", VotingGroup.RESIDENT, "서대문구"), (3, "김순자", VotingGroup.OFFICIAL, "")]
    assert [line for line, _message in errors] == [4]
    assert "more values than the header (9 instead of 8)" in errors[0][1]


def test_parse_normalizes_decomposed_hangul(app):
    decomposed = "\u1100\u1175\u11b7"  # 김 as macOS may write it
    with app.test_request_context():
        rows, errors = roll.parse_roll(f"{HEADER}\n{decomposed}순자,1950-03-01,010-2345-6789,서대문구,연희동,주민\n")
    assert errors == [] and rows[0].name == "김순자"


def test_an_unclosed_quote_over_the_rest_of_the_file_is_reported_at_its_line(app):
    text = f"{HEADER}\n김순자,1950-03-01,010-2345-6789,서대문구,연희동,주민\n\"이영희,1950-03-01,010-2345-0001,서대문구,연희동,주민\n박,1950-03-01,010-2345-0002,서대문구,연희동,주민\n"
    with app.test_request_context():
        rows, errors = roll.parse_roll(text)
    assert [r.line for r in rows] == [2]
    assert [line for line, _message in errors] == [3]
