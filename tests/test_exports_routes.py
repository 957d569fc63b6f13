"""The organizers' downloads of a frozen event (voting/exports/routes.py) and `voting export` on the command line.

What each download is made of (the workbook, the report, the certificates) is tested elsewhere;
here: that every format is served with its type, name and no-store, that the zip holds exactly
the single downloads under their names and is the same bytes every time, that nothing is served
before freezing, and that the command line writes the very bytes the site serves.
"""
import csv
import io
import json
import time
import zipfile
from dataclasses import dataclass

import pytest
from flask_babel import force_locale

from tests.conftest import Browserless, app_on_empty_tables
from tests.results_helpers import freeze, hand_made_event, tie_event
from voting.events.models import Event
from voting.extensions import db
from voting.i18n import to_seoul
from voting.results.bundle import CSV_COLUMNS, frozen_results

FORMATS = {  # format -> (file name pattern, mimetype, first bytes)
    "csv": ("results-event{id}.csv", "text/csv", b"\xef\xbb\xbf"),
    "xlsx": ("results-event{id}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK\x03\x04"),
    "pdf": ("results-report-event{id}.pdf", "application/pdf", b"%PDF-"),
    "certificates": ("certificates-event{id}.pdf", "application/pdf", b"%PDF-"),
    "bundle": ("results-bundle-event{id}.json", "application/json", b"{"),
}
ZIP_ORDER = ("csv", "xlsx", "pdf", "certificates", "bundle")
NOT_FROZEN = "Exports exist once the results are frozen."
ENGLISH_HEADER = ["Category", "Rank", "Award", "Finalist number", "Finalist", "Nominee", "Resident approvals",
                  "Official approvals", "Resident points", "Official points", "Judge points", "Total score",
                  "Total (exact)", "Tied with"]


@pytest.fixture(scope="module")
def app(migrated_database, smtp_server):
    """One app for the module: the frozen event is built once and only read by the tests."""
    yield from app_on_empty_tables(migrated_database, smtp_server)


@dataclass
class World:
    frozen: int           # the hand-made event, frozen (not published)
    closed: int           # the hand-made event, closed, not frozen
    tie: int              # the tie event, open (voting still possible)
    organizer: str
    resident: str


@pytest.fixture(scope="module")
def world(app):
    from tests import factories

    hand = hand_made_event(app)
    freeze(app, hand.event_id, hand.organizer_id)
    closed = hand_made_event(app)
    tie_id, _category, _ids, _email = tie_event(app, state="open")
    with app.app_context():
        resident = factories.user("resident")
        db.session.commit()
        resident_email = resident.email
    return World(hand.event_id, closed.event_id, tie_id, hand.organizer_email, resident_email)


def signed_in(app, email, lang=None):
    web = Browserless(app.test_client())
    assert web.login(email).status_code == 302
    if lang:
        assert web.post("/language", {"lang": lang, "next": "/"}, form_url="/").status_code == 302
    return web.client


@pytest.fixture(scope="module")
def organizer(app, world):
    """The organizer's client in the default language (Korean)."""
    return signed_in(app, world.organizer)


@pytest.fixture(scope="module")
def organizer_en(app, world):
    return signed_in(app, world.organizer, "en")


@pytest.fixture(scope="module")
def downloads(organizer, world):
    """Each single download of the frozen event, in Korean: format -> response."""
    return {fmt: organizer.get(f"/manage/events/{world.frozen}/exports/{fmt}") for fmt in FORMATS}


@pytest.fixture(scope="module")
def zip_download(organizer, world):
    return organizer.get(f"/manage/events/{world.frozen}/exports.zip")


class LaterClock:
    """The `time` module as zipfile sees it, some hours on: what a download made later would get."""

    def __init__(self, hours):
        self.offset = hours * 3600

    def __getattr__(self, name):
        return getattr(time, name)

    def time(self):
        return time.time() + self.offset

    def localtime(self, seconds=None):
        return time.localtime(self.time() if seconds is None else seconds)


@pytest.fixture
def later(monkeypatch):
    """Makes what follows in the test happen "three hours later" for every zip archive written."""
    monkeypatch.setattr(zipfile, "time", LaterClock(3))


@pytest.fixture(scope="module")
def zip_later(organizer, world, zip_download):
    """The zip downloaded again, "three hours later"."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(zipfile, "time", LaterClock(3))
        return organizer.get(f"/manage/events/{world.frozen}/exports.zip")


def cli_export(runner, tmp_path, event_id, fmt, *extra, name=None):
    path = tmp_path / (name or f"{event_id}-{fmt}-{'-'.join(extra) or 'ko'}")
    result = runner.invoke(args=["voting", "export", str(event_id), "--format", fmt, "--out", str(path), *extra])
    return result, path


# ---------------------------------------------------------------- the single downloads


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_each_format_downloads_with_its_type_name_and_no_store(downloads, world, fmt):
    response = downloads[fmt]
    name, mimetype, magic = FORMATS[fmt]
    assert response.status_code == 200, response.get_data(as_text=True)[:1000]
    assert response.mimetype == mimetype
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name.format(id=world.frozen)}"'
    assert response.headers["Cache-Control"] == "no-store"
    assert response.data.startswith(magic) and len(response.data) > 100


def test_the_bundle_and_csv_downloads_equal_the_results_pages_files(app, organizer, downloads, world):
    bundle = organizer.get(f"/events/{world.frozen}/results/bundle.json")
    assert bundle.status_code == 200 and downloads["bundle"].data == bundle.data
    table = organizer.get(f"/events/{world.frozen}/results.csv")
    assert table.status_code == 200 and downloads["csv"].data == table.data
    document = json.loads(downloads["bundle"].data)
    assert document["event"]["id"] == world.frozen and document["format"] == "voting-results-bundle/1"
    with app.app_context():
        assert downloads["bundle"].data == frozen_results(world.frozen).bundle_bytes


def test_the_csv_is_in_the_organizers_language(organizer_en, downloads, world):
    english = organizer_en.get(f"/manage/events/{world.frozen}/exports/csv")
    rows = list(csv.reader(io.StringIO(english.data.decode("utf-8-sig"))))
    assert rows[0] == ENGLISH_HEADER
    korean = list(csv.reader(io.StringIO(downloads["csv"].data.decode("utf-8-sig"))))
    assert korean[0] != ENGLISH_HEADER and korean[1:] == rows[1:]
    assert len(rows) == 1 + 3 + 2  # header, the practice category's 3 and the person category's 2 finalists


@pytest.mark.parametrize("fmt", ["doc", "zip", "json", "CSV", "csv.exe", "..", "bundle.json"])
def test_an_unknown_format_is_404(organizer, world, fmt):
    assert organizer.get(f"/manage/events/{world.frozen}/exports/{fmt}").status_code == 404


def test_an_unknown_event_is_404(organizer):
    assert organizer.get("/manage/events/999999/exports/csv").status_code == 404
    assert organizer.get("/manage/events/999999/exports.zip").status_code == 404


@pytest.mark.parametrize("fmt", [*FORMATS, "zip"])
def test_before_freezing_every_download_goes_back_to_the_results_preview_with_the_reason(app, world, fmt):
    client = signed_in(app, world.organizer, "en")
    for event_id in (world.closed, world.tie):
        url = f"/manage/events/{event_id}/exports.zip" if fmt == "zip" else f"/manage/events/{event_id}/exports/{fmt}"
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"/manage/events/{event_id}/results")
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert NOT_FROZEN in page


def test_only_organizers_download(app, world):
    anonymous = app.test_client()
    for url in (f"/manage/events/{world.frozen}/exports/csv", f"/manage/events/{world.frozen}/exports.zip"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    resident = signed_in(app, world.resident)
    for url in (f"/manage/events/{world.frozen}/exports/bundle", f"/manage/events/{world.frozen}/exports.zip"):
        assert resident.get(url).status_code == 403


# ---------------------------------------------------------------- the zip


def test_the_zip_holds_the_five_files_each_identical_to_its_single_download(zip_download, downloads, world):
    assert zip_download.status_code == 200
    assert zip_download.mimetype == "application/zip"
    assert zip_download.headers["Content-Disposition"] == f'attachment; filename="results-event{world.frozen}.zip"'
    assert zip_download.headers["Cache-Control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(zip_download.data)) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == [FORMATS[fmt][0].format(id=world.frozen) for fmt in ZIP_ORDER]
        for fmt in ZIP_ORDER:
            if fmt != "xlsx":  # see test_the_zips_workbook_is_the_single_downloads_workbook
                assert archive.read(FORMATS[fmt][0].format(id=world.frozen)) == downloads[fmt].data, fmt


def test_the_zips_workbook_is_the_single_downloads_workbook(downloads, world, zip_later):
    with zipfile.ZipFile(io.BytesIO(zip_later.data)) as archive:
        assert archive.read(f"results-event{world.frozen}.xlsx") == downloads["xlsx"].data


def test_the_zips_files_are_dated_at_the_freeze_in_seoul_time(app, world, zip_download, zip_later):
    with app.app_context():
        frozen_at = frozen_results(world.frozen).frozen_at
    stamp = to_seoul(frozen_at).timetuple()[:6]
    stamp = (*stamp[:5], stamp[5] // 2 * 2)  # a zip keeps seconds in steps of two
    for response in (zip_download, zip_later):
        with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
            assert {info.date_time for info in archive.infolist()} == {stamp}


def test_two_zips_of_the_same_frozen_event_are_byte_identical(zip_download, zip_later):
    assert zip_later.status_code == 200 and zip_later.data == zip_download.data


# ---------------------------------------------------------------- the command line


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_command_writes_what_the_site_serves(runner, tmp_path, downloads, world, fmt, later):
    result, path = cli_export(runner, tmp_path, world.frozen, fmt, "--lang", "ko")
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == downloads[fmt].data


def test_the_command_writes_the_zip_the_site_serves(runner, tmp_path, zip_download, world, later):
    result, path = cli_export(runner, tmp_path, world.frozen, "zip")
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == zip_download.data


def test_the_command_defaults_to_korean_and_english_on_request(runner, tmp_path, organizer_en, downloads, world):
    result, korean = cli_export(runner, tmp_path, world.frozen, "csv")
    assert result.exit_code == 0 and korean.read_bytes() == downloads["csv"].data
    result, english = cli_export(runner, tmp_path, world.frozen, "csv", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert english.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(english.read_bytes().decode("utf-8-sig"))))
    assert rows[0] == ENGLISH_HEADER
    assert english.read_bytes() == organizer_en.get(f"/manage/events/{world.frozen}/exports/csv").data
    with force_locale("en"):
        assert rows[0] == [str(column) for column in CSV_COLUMNS]


def test_the_command_prints_the_bundles_sha256(app, runner, tmp_path, world):
    result, path = cli_export(runner, tmp_path, world.frozen, "bundle", name="bundle-sha.json")
    assert result.exit_code == 0
    document = json.loads(path.read_bytes())
    assert f"bundle sha256 {document['sha256']}" in result.output


def test_the_command_refuses_an_event_that_is_not_frozen(runner, tmp_path, world):
    for fmt in ("csv", "zip"):
        result, path = cli_export(runner, tmp_path, world.closed, fmt)
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # a ClickException
        assert f"Error: event {world.closed} is not frozen" in result.output
        assert f"voting freeze {world.closed}" in result.output
        assert not path.exists() or path.read_bytes() == b""


def test_the_command_refuses_an_unknown_event_and_format(runner, tmp_path):
    result, path = cli_export(runner, tmp_path, 999999, "csv")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "Error: no event 999999" in result.output
    assert not path.exists() or path.read_bytes() == b""
    result, _path = cli_export(runner, tmp_path, 999999, "docx")
    assert result.exit_code == 2 and "docx" in result.output


def test_exports_do_not_change_the_frozen_event(app, world, downloads, zip_download):
    with app.app_context():
        event = db.session.get(Event, world.frozen)
        assert event.state.value == "frozen"
        assert frozen_results(world.frozen).published_at is None
