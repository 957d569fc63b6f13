"""The award-day exports of frozen results as tables: the XLSX workbook and the PDF report.

Every number in them must be the number of the results page and of the CSV export, so the
tests read the files back (openpyxl; poppler's pdftotext, pdffonts and pdftoppm) and compare
them with ``bundle.results_csv`` and with the frozen standings' display values.
"""
import csv
import io
import os
import re
import subprocess
from decimal import Decimal

import pytest
from flask_babel import force_locale, gettext
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from tests import factories
from tests.results_helpers import EXPECTED, EXPECTED_PERSON, freeze, hand_made_event, tie_event
from voting.accounts.models import User
from voting.ballots import operations as ballots
from voting.events.models import AwardTier, Category, CategoryKind, Criterion, Event, EventState
from voting.events.operations import change_event_state
from voting.exports.awards import event_awards
from voting.exports.operations import export_file
from voting.exports.report import results_pdf
from voting.exports.xlsx import HEADER_ROW, SHEET_NAME_LIMIT, results_xlsx, sheet_name
from voting.extensions import db
from voting.i18n import format_seoul_datetime
from voting.nominations.models import Nomination
from voting.results import bundle, scoring
from voting.results import operations as results_operations
from voting.results.routes import finalist_names, replay_command, warning_text, weights_text
from voting.simulation import simulate

INVALID_SHEET_CHARACTERS = set("[]:*?/\\")
CATEGORY_HEADERS_EN = [
    "Rank", "Award", "Finalist number", "Finalist", "Nominee", "Resident approvals", "Official approvals",
    "Resident points", "Official points", "Judge points", "Total score", "Tied with",
]
CATEGORY_HEADERS_KO = [
    "순위", "수상", "본선 후보 번호", "본선 후보", "후보자", "주민 득표 수", "공무원 득표 수",
    "주민 투표 점수", "공무원 투표 점수", "심사 점수", "총점", "동점 후보",
]
AWARD_HEADERS_EN = ["Category", "Award", "Finalist", "Nominee", "Rank", "Total score"]
POINT_COLUMNS = ("Resident points", "Official points", "Judge points", "Total score")
INTEGER_COLUMNS = ("Rank", "Finalist number", "Resident approvals", "Official approvals")


# ---------------------------------------------------------------------------
# Building frozen events and their exports


@pytest.fixture
def frozen_hand(app):
    hand = hand_made_event(app)
    freeze(app, hand.event_id, hand.organizer_id)
    return hand


def ties_event(app):
    """tie_event's practice category settled by a recorded draw, and a person category whose two
    finalists have one resident vote each (officials and judges empty, so both are dropped)
    settled by a joint award.  Returns (event id, {practice/person: [finalist ids]})."""
    event_id, _practice_id, practice_ids, organizer_email = tie_event(app, state="open")
    with app.app_context():
        event = db.session.get(Event, event_id)
        nominator = factories.user("resident")
        person_ids = [factories.nomination(event_id, nominator_id=nominator.id, category_index=1, state="finalist",
                                           title=title).id for title in ("골목 정원 가꾸기 모임 대표", "공유부엌 자원봉사 대표")]
        voters = [factories.user("resident") for _ in person_ids]
        db.session.commit()
        practice, person = event.categories
        for voter, finalist in zip(voters, person_ids):
            ballots.cast_ballot(person, ballots.Voter(user=voter), [finalist])
        change_event_state(event, EventState.CLOSED)
        organizer = db.session.scalar(db.select(User).where(User.email == organizer_email))
        results_operations.decide_tie(practice, practice_ids[:2], "draw", organizer)
        results_operations.decide_tie(person, person_ids, "joint", organizer)
        db.session.commit()
        organizer_id = organizer.id
    freeze(app, event_id, organizer_id)
    return event_id, {"practice": practice_ids, "person": person_ids}


def large_event(app, finalists_per_category=40, ballots_per_category=400):
    """Three categories of 40 finalists with simulated ballots and five judges, frozen."""
    with app.app_context():
        event = factories.event(phase="voting")
        event.categories.append(Category(
            name="협치 마을공동체", kind=CategoryKind.PRACTICE, position=2, max_approvals=3,
            tiers=[AwardTier(name="대상", count=1, position=0), AwardTier(name="최우수상", count=2, position=1),
                   AwardTier(name="우수상", count=3, position=2), AwardTier(name="장려상", count=4, position=3)],
            criteria=[Criterion(name="협치성", weight=2, max_score=10, position=0),
                      Criterion(name="지속가능성", weight=1, max_score=10, position=1)],
        ))
        db.session.flush()
        nominator = factories.user("resident")
        for index in range(len(event.categories)):
            for number in range(finalists_per_category):
                factories.nomination(event.id, nominator_id=nominator.id, category_index=index, state="finalist",
                                     title=f"{number + 1}번 주민과 함께 만든 골목길 협치 사업")
        for _judge in range(5):
            factories.user("judge")
        organizer = factories.user("organizer")
        db.session.commit()
        simulate(event, ballots_per_category, seed=11, organizer=organizer)
        change_event_state(event, EventState.CLOSED)
        db.session.commit()
        event_id, organizer_id = event.id, organizer.id
    freeze(app, event_id, organizer_id)
    return event_id


def exports(app, event_id, locale="ko"):
    """The CSV, XLSX and PDF of a frozen event in one locale, with the frozen results they came from."""
    with app.app_context(), force_locale(locale):
        event = db.session.get(Event, event_id)
        frozen = bundle.frozen_results(event_id)
        workbook, report = export_file(event, "xlsx", frozen), export_file(event, "pdf", frozen)  # as the downloads do
        assert (workbook.filename, report.filename) == (f"results-event{event_id}.xlsx", f"results-report-event{event_id}.pdf")
        assert report.data.startswith(b"%PDF-") and workbook.data.startswith(b"PK")
        return {
            "frozen": frozen,
            "event_name": event.name,
            "csv": bundle.results_csv(frozen.categories),
            "xlsx": workbook.data,
            "pdf": report.data,
            "bundle_sha256": frozen.bundle_sha256,
        }


def workbook_of(data):
    return load_workbook(io.BytesIO(data))


def csv_rows(data):
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    return rows[0], rows[1:]


def table(sheet):
    """(header, [row values ...]) of the table of an export sheet, up to its first empty row."""
    header = [cell.value for cell in sheet[HEADER_ROW]]
    rows = []
    for row in sheet.iter_rows(min_row=HEADER_ROW + 1):
        if row[0].value is None:
            break
        rows.append(row)
    return header, rows


def text_below_table(sheet):
    header, rows = table(sheet)
    first = HEADER_ROW + len(rows) + 1
    return [row[0].value for row in sheet.iter_rows(min_row=first) if row[0].value]


def shown(cell):
    """A cell as Excel shows it, which is how the CSV writes it: a number in the format 0.00 with
    two decimals, other numbers as integers, an empty cell as ''."""
    if cell.value is None:
        return ""
    if cell.number_format == "0.00":
        return f"{Decimal(repr(cell.value)):.2f}"
    return str(cell.value)


def squeeze(text):
    return re.sub(r"\s+", " ", text)


def without_spaces(text):
    return re.sub(r"\s+", "", text)


def category_sheets(workbook, frozen):
    """[(CategoryResults, sheet)]: the category sheets follow the awards sheet, in category order."""
    sheets = workbook.worksheets[1:]
    assert len(sheets) == len(frozen.categories)
    return list(zip(frozen.categories, sheets))


def row_text(results, row):
    """One standings row as the PDF table prints it, cell after cell."""
    finalist = results.finalists[row.finalist]
    cells = [row.rank, row.tier or "—", row.finalist, finalist.title]
    if results.kind == "person":
        cells.append(finalist.nominee)
    cells += [row.votes["resident"], row.votes["official"], scoring.display(row.resident),
              scoring.display(row.official), scoring.display(row.judges) or "—", scoring.display(row.score)]
    return " ".join(str(cell) for cell in cells)


def pdftotext(data, tmp_path, mode="-layout"):
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", mode, str(path), "-"], check=True, capture_output=True, text=True).stdout


def translated(app, locale, function):
    with app.app_context(), force_locale(locale):
        return function()


# ---------------------------------------------------------------------------
# XLSX


def test_xlsx_numbers_and_names_equal_the_csv_and_the_frozen_standings(app, frozen_hand):
    made = exports(app, frozen_hand.event_id)
    frozen = made["frozen"]
    workbook = workbook_of(made["xlsx"])
    csv_header, csv_body = csv_rows(made["csv"])
    csv_by_category = {}
    for line in csv_body:
        csv_by_category.setdefault(line[0], []).append(line)

    for results, sheet in category_sheets(workbook, frozen):
        header, rows = table(sheet)
        assert header == csv_header[1:12] + csv_header[13:14] == CATEGORY_HEADERS_KO
        assert sheet["A1"].value == f"{made['event_name']} · {results.name}"
        # Every cell equals the CSV's text of the same finalist (the CSV without its category
        # and exact-fraction columns) ...
        expected = [line[1:12] + line[13:14] for line in csv_by_category[results.name]]
        assert [[shown(cell) for cell in row] for row in rows] == expected
        # ... and the frozen standings' own numbers, as the results page displays them.
        assert len(rows) == len(results.standings.results)
        for row, result in zip(rows, results.standings.results):
            cells = dict(zip(header, row))
            values = {column: cell.value for column, cell in cells.items()}
            assert values["순위"] == result.rank and values["본선 후보 번호"] == result.finalist
            assert values["수상"] == result.tier
            assert values["본선 후보"] == results.finalists[result.finalist].title
            assert values["후보자"] == results.finalists[result.finalist].nominee
            assert (values["주민 득표 수"], values["공무원 득표 수"]) == (result.votes["resident"], result.votes["official"])
            for column, value in (("주민 투표 점수", result.resident), ("공무원 투표 점수", result.official),
                                  ("심사 점수", result.judges), ("총점", result.score)):
                assert shown(cells[column]) == scoring.display(value)

    # The hand-computed numbers of tests/results_helpers.py, through the workbook.
    practice = dict((row[3].value, row) for row in table(workbook.worksheets[1])[1])
    person = dict((row[3].value, row) for row in table(workbook.worksheets[2])[1])
    titles = {letter: frozen.category(frozen_hand.category_id).finalists[i].title
              for letter, i in frozen_hand.finalists.items() if letter in EXPECTED}
    for letter, (rank, tier, resident, official, judges, score) in EXPECTED.items():
        row = practice[titles[letter]]
        assert (row[0].value, row[1].value) == (rank, tier)
        assert [shown(cell) for cell in row[7:11]] == [scoring.display(v) for v in (resident, official, judges, score)]
    person_titles = {letter: frozen.category(frozen_hand.person_category_id).finalists[i].title
                     for letter, i in frozen_hand.finalists.items() if letter in EXPECTED_PERSON}
    for letter, (rank, tier, _resident, _official, judges, score) in EXPECTED_PERSON.items():
        row = person[person_titles[letter]]
        assert (row[0].value, row[1].value, row[9].value) == (rank, tier, judges)
        assert shown(row[10]) == scoring.display(score) == "66.67"


def test_xlsx_stores_numbers_as_numbers_with_the_display_format(app, frozen_hand):
    made = exports(app, frozen_hand.event_id, "en")
    for _results, sheet in category_sheets(workbook_of(made["xlsx"]), made["frozen"]):
        header, rows = table(sheet)
        assert rows
        for row in rows:
            cells = dict(zip(header, row))
            for column in INTEGER_COLUMNS:
                assert cells[column].data_type == "n" and isinstance(cells[column].value, int), column
            for column in POINT_COLUMNS:
                cell = cells[column]
                if cell.value is None:  # no judge score: empty, as the CSV's ""
                    assert column == "Judge points"
                    continue
                assert cell.data_type == "n" and isinstance(cell.value, (int, float)), column
                assert cell.number_format == "0.00"
            assert cells["Finalist"].data_type == "s"


def test_xlsx_awards_sheet_lists_every_awardee(app, frozen_hand):
    made = exports(app, frozen_hand.event_id, "en")
    awards_sheet = workbook_of(made["xlsx"]).worksheets[0]
    assert awards_sheet.title == "Awards"
    header, rows = table(awards_sheet)
    assert header == AWARD_HEADERS_EN
    expected = [[award.category.name, award.tier, award.finalist.title, award.finalist.nominee, award.row.rank,
                 scoring.display(award.row.score)] for award in event_awards(made["frozen"].categories)]
    got = [[cell.value for cell in row[:5]] + [shown(row[5])] for row in rows]
    assert got == expected
    assert [row[:3] for row in got] == [
        ["협치 우수사례", "대상", "홍제천 테마길 다리 꾸미기"],
        ["협치 우수사례", "우수상", "주민 공간, 거듭나는 작은 도서관"],
        ["협치 우수사례", "우수상", "공동체 마을 밥상"],
        ["협치 인물", "협치인물상", "다리 디자인 워킹그룹을 이끈 주민 위원"],
    ]
    assert got[3][3] == "홍길동" and got[0][3] is None  # the nominee only for a person category


def test_xlsx_widths_and_print_settings(app, frozen_hand):
    made = exports(app, frozen_hand.event_id, "en")
    workbook = workbook_of(made["xlsx"])
    for index, sheet in enumerate(workbook.worksheets):
        header, rows = table(sheet)
        widths = {column: sheet.column_dimensions[get_column_letter(n)].width for n, column in enumerate(header, start=1)}
        assert all(width and width >= 8 for width in widths.values()), widths
        assert widths["Finalist"] > widths["Rank"]  # sized to the longest title
        setup = sheet.page_setup
        assert str(setup.paperSize) == sheet.PAPERSIZE_A4 == "9"  # A4
        assert setup.orientation == ("portrait" if index == 0 else "landscape")
        assert sheet.sheet_properties.pageSetUpPr.fitToPage and setup.fitToWidth == 1 and setup.fitToHeight == 0
        assert sheet.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"  # the header row on every page
        assert made["event_name"] in sheet.oddHeader.center.text and sheet.oddFooter.right.text == "&P / &N"
        assert sheet.freeze_panes == f"A{HEADER_ROW + 1}"
    assert workbook.properties.title == f"{made['event_name']} · Results"


def test_xlsx_headers_follow_the_locale(app, frozen_hand):
    english = workbook_of(exports(app, frozen_hand.event_id, "en")["xlsx"])
    korean = workbook_of(exports(app, frozen_hand.event_id, "ko")["xlsx"])
    assert table(english.worksheets[1])[0] == CATEGORY_HEADERS_EN
    assert table(korean.worksheets[1])[0] == CATEGORY_HEADERS_KO
    assert table(english.worksheets[0])[0] == AWARD_HEADERS_EN
    assert table(korean.worksheets[0])[0][:2] == ["부문", "수상"]
    assert english.worksheets[1]["A2"].value.startswith("Frozen on ")
    assert "확정했습니다." in korean.worksheets[1]["A2"].value


def test_xlsx_notes_give_the_weights_and_warnings(app, frozen_hand):
    made = exports(app, frozen_hand.event_id, "en")
    practice, person = category_sheets(workbook_of(made["xlsx"]), made["frozen"])
    assert text_below_table(practice[1]) == ["Weights: Residents' votes 40, Officials' votes 20, Judges' scores 40"]
    notes = text_below_table(person[1])
    assert notes[:2] == ["Weights: Residents' votes 40, Officials' votes 20, Judges' scores 40",
                         "Weights used: Residents' votes 66.67, Officials' votes 33.33, Judges' scores 0"]
    assert notes[2] == ("Please note: Left out because nothing counts in them (Judges' scores: no judge has submitted "
                        "a sheet). The other weights were scaled up to 100: Residents' votes 66.67, Officials' votes "
                        "33.33, Judges' scores 0.")


def test_sheet_names_stay_valid_and_unique_whatever_the_category_names(app):
    hand = hand_made_event(app)
    awkward = "[협치] 우수사례: 주민/공무원이 함께 만든 마을 사업*? 부문"
    with app.app_context():
        practice = db.session.get(Category, hand.category_id)
        person = db.session.get(Category, hand.person_category_id)
        practice.name, person.name = awkward + " 1", awkward + " 2"  # the same once cut to 31 characters
        db.session.get(Nomination, hand.finalists["A"]).title = "=HYPERLINK(\"http://example.com\",\"클릭\")"
        db.session.commit()
    freeze(app, hand.event_id, hand.organizer_id)
    made = exports(app, hand.event_id)
    workbook = workbook_of(made["xlsx"])
    names = workbook.sheetnames
    assert len(names) == 3 and len({name.casefold() for name in names}) == 3
    for name in names:
        assert 0 < len(name) <= SHEET_NAME_LIMIT and not set(name) & INVALID_SHEET_CHARACTERS
        assert not name.startswith("'") and not name.endswith("'")
    assert names[1].startswith("_협치_ 우수사례_ 주민_공무원이") and names[2].endswith(" (2)")
    sheets = category_sheets(workbook, made["frozen"])
    assert [sheet["A1"].value for _results, sheet in sheets] == [
        f"{made['event_name']} · {awkward} 1", f"{made['event_name']} · {awkward} 2"]
    # A title that looks like a formula stays text.
    title_cell = next(row[3] for row in table(sheets[0][1])[1] if row[3].value.startswith("="))
    assert title_cell.data_type == "s" and title_cell.value == "=HYPERLINK(\"http://example.com\",\"클릭\")"


def test_sheet_name_rules():
    taken = set()
    assert sheet_name("Awards", taken) == "Awards"
    assert sheet_name("awards", taken) == "awards (2)"          # Excel compares names ignoring case
    assert sheet_name("AWARDS", taken) == "AWARDS (3)"
    assert sheet_name("'인용'", taken) == "인용"                  # no apostrophe at either end
    assert sheet_name("", taken) == "_" and sheet_name(":/", taken) == "__"
    assert sheet_name("History", taken) == "History (2)"        # Excel's own
    long = "가" * 40
    first, second = sheet_name(long, taken), sheet_name(long, taken)
    assert first == "가" * 31 and second == "가" * 27 + " (2)" and len(second) == SHEET_NAME_LIMIT


# ---------------------------------------------------------------------------
# PDF report


def test_report_has_every_finalist_the_weights_and_both_fingerprints(app, frozen_hand, tmp_path, screenshot_dir):
    made = exports(app, frozen_hand.event_id)
    frozen = made["frozen"]
    layout = pdftotext(made["pdf"], tmp_path)
    flat = squeeze(layout)
    raw = squeeze(pdftotext(made["pdf"], tmp_path, "-raw"))  # cell after cell, in table order
    assert " ".join(h for h in CATEGORY_HEADERS_KO if h != "후보자") in raw  # the person category alone has nominees
    assert " ".join(CATEGORY_HEADERS_KO) in raw

    for results in frozen.categories:
        assert results.name in flat
        for row in results.standings.results:
            title = results.finalists[row.finalist].title
            assert title in raw and scoring.display(row.score) in layout
            assert row_text(results, row) in raw, row_text(results, row)
        weights = translated(app, "ko", lambda: weights_text(results.settings.weights.as_dict()))
        assert f"가중치: {weights}" in flat
    assert "총점 = (40 × C주민 + 20 × C공무원 + 40 × J) ÷ 100" in flat  # the formula, with this category's weights
    assert "본선 후보마다 주민 투표, 공무원 투표, 심사 점수의 세 부분에서 각각 최대 100점을 받습니다." in flat
    # The cover and the footer: event, frozen date in Seoul time, both SHA-256.
    when = translated(app, "ko", lambda: format_seoul_datetime(frozen.frozen_at))
    assert made["event_name"] in flat and f"{when}에 확정했습니다." in flat
    assert frozen.sha256 in layout and made["bundle_sha256"] in layout
    pages = [page for page in layout.split("\f") if page.strip()]  # pdftotext ends each page with a form feed
    assert len(pages) >= 3  # the cover, then each category on pages of its own
    for number, page in enumerate(pages, start=1):  # every footer: page number, event, the snapshot's SHA-256
        assert re.search(rf"\b{number}\s*/\s*{len(pages)}\s*$", page.split(made["event_name"])[-1].split("\n")[0]), page
        assert frozen.sha256 in page and made["event_name"] in page

    fonts = subprocess.run(["pdffonts", str(tmp_path / "report.pdf")], capture_output=True, text=True, check=True).stdout
    nanum = [line.split() for line in fonts.splitlines() if "Nanum" in line]
    assert nanum and all(fields[-5] == "yes" for fields in nanum), fonts  # emb column: embedded
    assert any("NanumGothic" in fields[0] for fields in nanum)

    picture = os.path.join(screenshot_dir, "report-page1")
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile",
                    str(tmp_path / "report.pdf"), picture], check=True)
    assert os.path.getsize(picture + ".png") > 10_000


def unhyphenated(text):
    """pdftotext's text with the words that the narrow header cells hyphenated joined again."""
    return squeeze(re.sub(r"(\w)[-\u2010]\n(\w)", r"\1\2", text))


def test_report_in_english(app, frozen_hand, tmp_path):
    made = exports(app, frozen_hand.event_id, "en")
    flat = squeeze(pdftotext(made["pdf"], tmp_path))
    raw = unhyphenated(pdftotext(made["pdf"], tmp_path, "-raw"))
    practice_header = [h for h in CATEGORY_HEADERS_EN if h != "Nominee"]
    assert " ".join(practice_header) in raw and " ".join(CATEGORY_HEADERS_EN) in raw
    for text in ("Results report", "Awards", "How the total is made",
                 "Weights: Residents' votes 40, Officials' votes 20, Judges' scores 40",
                 "Weights used: Residents' votes 66.67, Officials' votes 33.33, Judges' scores 0",
                 "SHA-256 of the frozen snapshot:", "Frozen on "):
        assert text in flat, text
    assert "순위" not in flat and "총점" not in flat


def test_ties_settled_by_draw_and_joint_award_and_empty_components_are_shown(app, tmp_path):
    event_id, ids = ties_event(app)
    made = exports(app, event_id)
    frozen = made["frozen"]
    practice, person = frozen.categories
    [draw] = practice.resolutions
    [joint] = person.resolutions
    assert (draw.method, joint.method) == ("draw", "joint")
    first, second = draw.order

    with app.app_context(), force_locale("ko"):
        draw_text = gettext("Recorded draw between %(finalists)s with seed %(seed)s; drawn order: %(order)s.",
                            finalists=finalist_names(practice, sorted(draw.finalists)), seed=draw.seed,
                            order=finalist_names(practice, draw.order))
        joint_text = gettext("Joint award: %(finalists)s share the better award.",
                             finalists=finalist_names(person, sorted(joint.finalists)))
        command = replay_command(draw)
        dropped = [warning_text(results, warning) for results in (practice, person) for warning in results.warnings]
        weights_used = [f"{gettext('Weights used')}: {weights_text(results.standings.weights_used)}"
                        for results in (practice, person)]
    assert len(dropped) == 2 and all("반영할 것이 없어 뺀 부분이 있습니다" in text for text in dropped)

    # XLSX: the drawn order in distinct ranks, the joint award sharing rank and tier, the notes.
    workbook = workbook_of(made["xlsx"])
    (_p, practice_sheet), (_q, person_sheet) = category_sheets(workbook, frozen)
    practice_rows = {row[2].value: row for row in table(practice_sheet)[1]}
    assert (practice_rows[first][0].value, practice_rows[first][1].value) == (1, "대상")
    assert (practice_rows[second][0].value, practice_rows[second][1].value) == (2, "우수상")
    person_rows = {row[2].value: row for row in table(person_sheet)[1]}
    a, b = ids["person"]
    assert [(person_rows[i][0].value, person_rows[i][1].value) for i in (a, b)] == [(1, "협치인물상")] * 2
    assert person_rows[a][11].value == person.title(b) and person_rows[b][11].value == person.title(a)
    assert person_rows[a][9].value is None  # judges empty: no judge score
    practice_notes, person_notes = text_below_table(practice_sheet), text_below_table(person_sheet)
    assert draw_text in practice_notes and any(command in note for note in practice_notes)
    assert joint_text in person_notes
    assert f"알려 드립니다: {dropped[0]}" in practice_notes and f"알려 드립니다: {dropped[1]}" in person_notes
    assert practice_notes[1] == weights_used[0] and person_notes[1] == weights_used[1]
    assert weights_used[1].endswith(": 주민 투표 점수 100, 공무원 투표 점수 0, 심사 점수 0")

    # PDF: the same, in words.
    flat = squeeze(pdftotext(made["pdf"], tmp_path))
    unspaced = without_spaces(flat)  # Korean lines may wrap between any two letters
    assert without_spaces(draw_text) in unspaced and draw.seed in flat
    assert without_spaces(command) in unspaced  # the replay command
    assert without_spaces(joint_text) in unspaced and "(공동 수상)" in flat
    for text in dropped:
        assert without_spaces(text) in unspaced
    raw = squeeze(pdftotext(made["pdf"], tmp_path, "-raw"))
    for results in (practice, person):
        for row in results.standings.results:
            assert row_text(results, row) in raw
    assert "— 100.00" in raw  # an empty judges' part prints as a dash, not 0.00
    with app.app_context():
        assert [award.finalist.id for award in event_awards(frozen.categories) if award.joint] == [a, b]


def test_large_event_exports_hold_every_row(app, tmp_path):
    """Three categories of 40 finalists: every row is in the workbook and the report.  How
    long they take is measured by `make bench-export`, not here."""
    event_id = large_event(app)
    with app.app_context(), force_locale("ko"):
        event = db.session.get(Event, event_id)
        frozen = bundle.frozen_results(event_id)
        assert [len(results.standings.results) for results in frozen.categories] == [40, 40, 40]
        workbook_bytes = results_xlsx(event, frozen)
        pdf_bytes = results_pdf(event, frozen)
    workbook = workbook_of(workbook_bytes)
    assert [len(table(sheet)[1]) for sheet in workbook.worksheets[1:]] == [40, 40, 40]
    raw = squeeze(pdftotext(pdf_bytes, tmp_path, "-raw"))
    assert all(row_text(results, row) in raw for results in frozen.categories for row in results.standings.results)


PAGE_ROW = re.compile(
    r'<tr id="result-(?P<category>\d+)-(?P<finalist>\d+)"[^>]*data-rank="(?P<rank>\d+)" data-tier="(?P<tier>[^"]*)"'
    r'.*?<td class="score"><strong>(?P<score>[^<]+)</strong></td>\s*<td class="votes-resident">(?P<votes_resident>\d+)</td>'
    r'\s*<td class="resident">(?P<resident>[^<]+)</td>\s*<td class="votes-official">(?P<votes_official>\d+)</td>'
    r'\s*<td class="official">(?P<official>[^<]+)</td>\s*<td class="judges">(?P<judges>[^<]+)</td>', re.S)


def test_every_export_number_is_the_number_on_the_published_results_page(app, web, tmp_path):
    """Read back from the page a visitor sees, not from the standings the exports were made of."""
    event_id, _ids = ties_event(app)
    with app.test_request_context():
        organizer = db.session.scalar(db.select(User).where(User.role == "organizer"))
        results_operations.publish_results(db.session.get(Event, event_id), organizer)
        db.session.commit()
    page = web.client.get(f"/events/{event_id}/results").get_data(as_text=True)
    on_page = {(int(m["category"]), int(m["finalist"])): m.groupdict() for m in PAGE_ROW.finditer(page)}
    assert len(on_page) == 5
    with app.test_request_context(), force_locale("ko"):
        event = db.session.get(Event, event_id)
        made = {fmt: export_file(event, fmt).data for fmt in ("csv", "xlsx", "pdf")}
        frozen = bundle.frozen_results(event_id)
        names = {results.name: results.id for results in frozen.categories}
    # CSV: category, rank, award, number, title, nominee, approvals x2, points x3, total, ...
    _header, rows = csv_rows(made["csv"])
    for row in rows:
        shown = on_page[(names[row[0]], int(row[3]))]
        assert [row[1], row[2], row[6], row[7], row[8], row[9], row[10] or "—", row[11]] == [
            shown["rank"], shown["tier"], shown["votes_resident"], shown["votes_official"], shown["resident"],
            shown["official"], shown["judges"].strip(), shown["score"]]
    # XLSX: each category sheet's totals as the page shows them, numbers stored as numbers.
    workbook = workbook_of(made["xlsx"])
    for sheet, results in zip(workbook.worksheets[1:], frozen.categories):
        header, values = table(sheet)
        number, total = header.index(gettext_ko(app, "Finalist number")), header.index(gettext_ko(app, "Total score"))
        for cells in values:
            shown = on_page[(results.id, cells[number].value)]
            assert isinstance(cells[total].value, (int, float, Decimal))
            assert f"{Decimal(str(cells[total].value)):.2f}" == shown["score"]
    # PDF: every total of the page is printed in the report.
    text = squeeze(pdftotext(made["pdf"], tmp_path, "-raw"))
    for shown in on_page.values():
        assert shown["score"] in text


def gettext_ko(app, message):
    with app.test_request_context(), force_locale("ko"):
        return gettext(message)
