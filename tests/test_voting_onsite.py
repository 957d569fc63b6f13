"""On-site voting with printed single-use codes, and the organizer's sessions."""
import re
import subprocess

import pytest
from sqlalchemy import func, select

from voting.audit.models import AuditEntry
from voting.ballots import codes
from voting.ballots.models import Ballot, OnsiteCode, OnsiteCodeBatch, OnsiteSession
from voting.extensions import db

from tests.voting_helpers import voting_event


def create_batch(web, event_id, size=3, group="resident", label="1번 테이블"):
    response = web.post(f"/manage/events/{event_id}/codes", {"group": group, "size": str(size), "label": label})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    return response.data


def pdf_text(pdf, tmp_path):
    path = tmp_path / "cards.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def codes_in(text):
    return re.findall(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{3}\b", text)


@pytest.fixture
def onsite_world(app, web, login_as):
    event_id, category_id, finalists = voting_event(app, phase="nominating")
    login_as("organizer")
    return event_id, category_id, finalists


def test_batch_pdf_has_every_code_in_a_korean_font_and_stores_only_hashes(app, web, onsite_world, tmp_path):
    event_id, _category_id, _finalists = onsite_world
    pdf = create_batch(web, event_id, size=12)
    text = pdf_text(pdf, tmp_path)
    printed = codes_in(text)
    assert len(printed) == 12 and len(set(printed)) == 12
    assert "협치 성과 공유 파티" in text and ("현장 투표" in text or "On-site" in text)
    fonts = subprocess.run(["pdffonts", str(tmp_path / "cards.pdf")], capture_output=True, text=True, check=True).stdout
    assert "Nanum" in fonts and " yes " in fonts
    with app.app_context():
        stored = set(db.session.scalars(select(OnsiteCode.code_hash)))
        assert len(stored) == 12
        for code in printed:
            assert codes.onsite_code_hash(code) in stored
            assert code.replace("-", "") not in "".join(stored)
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "codes.create")) == 1
    # 11 characters of a 32-letter alphabet: 55 bits.
    assert codes.ONSITE_CODE_LENGTH * 5 >= 50


def test_a_code_votes_once_per_category_only_while_a_session_is_open(app, web, onsite_world, tmp_path):
    event_id, category_id, finalists = onsite_world
    code = codes_in(pdf_text(create_batch(web, event_id, size=1), tmp_path))[0]
    phone = app.test_client()

    page = phone.get(f"/onsite/{event_id}?code={code}").get_data(as_text=True)
    assert f'value="{code}"' in page, "scanning fills the code in"
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert phone.post(f"/onsite/{event_id}", data={"csrf_token": token, "code": code.lower()}).status_code == 302

    closed = phone.get(f"/onsite/{event_id}/categories/{category_id}")
    assert closed.status_code == 403
    assert "현장 투표" in closed.get_data(as_text=True) or "On-site voting" in closed.get_data(as_text=True)

    web.post(f"/manage/categories/{category_id}/onsite/open", {"minutes": "10"}, form_url=f"/manage/events/{event_id}/onsite")
    ballot_page = phone.get(f"/onsite/{event_id}/categories/{category_id}")
    assert ballot_page.status_code == 200
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', ballot_page.get_data(as_text=True)).group(1)
    response = phone.post(
        f"/onsite/{event_id}/categories/{category_id}/cast",
        data={"csrf_token": token, "approvals": [str(finalists[0])], "action": "cast"},
        follow_redirects=True,
    )
    assert response.status_code == 200 and 'id="receipt-code"' in response.get_data(as_text=True)
    assert phone.get(f"/onsite/{event_id}/categories/{category_id}").status_code == 409
    with app.app_context():
        ballot = db.session.scalar(select(Ballot))
        assert ballot.channel.value == "onsite" and ballot.group.value == "resident"

    web.post(f"/manage/categories/{category_id}/onsite/close", {}, form_url=f"/manage/events/{event_id}/onsite")
    with app.app_context():
        assert db.session.scalar(select(OnsiteSession.closed_at)) is not None


def test_wrong_and_revoked_codes_are_refused(app, web, onsite_world, tmp_path):
    event_id, category_id, _finalists = onsite_world
    code = codes_in(pdf_text(create_batch(web, event_id, size=1), tmp_path))[0]
    phone = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', phone.get(f"/onsite/{event_id}").get_data(as_text=True)).group(1)
    wrong = phone.post(f"/onsite/{event_id}", data={"csrf_token": token, "code": "ZZZZ-ZZZZ-ZZZ"})
    assert wrong.status_code == 400 and 'id="code-error"' in wrong.get_data(as_text=True)
    with app.app_context():
        batch_id = db.session.scalar(select(OnsiteCodeBatch.id))
    web.post(f"/manage/code-batches/{batch_id}/revoke", {}, form_url=f"/manage/events/{event_id}/codes")
    revoked = phone.post(f"/onsite/{event_id}", data={"csrf_token": token, "code": code})
    assert revoked.status_code == 400


def test_code_entry_is_rate_limited_per_address(app, migrated_database, smtp_server):
    from voting import create_app

    limited = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": migrated_database, "CODE_RATE_LIMIT": "3 per minute"})
    event_id, _category_id, _finalists = voting_event(limited)
    client = limited.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(f"/onsite/{event_id}").get_data(as_text=True)).group(1)
    statuses = [client.post(f"/onsite/{event_id}", data={"csrf_token": token, "code": "AAAA-AAAA-AAA"}).status_code for _ in range(4)]
    assert statuses[:3] == [400, 400, 400] and statuses[3] == 429
    assert client.get(f"/onsite/{event_id}").status_code == 200, "showing the page is not limited"


def test_an_expired_countdown_closes_the_session(app, web, onsite_world):
    from datetime import timedelta

    from voting.database import utcnow

    event_id, category_id, _finalists = onsite_world
    web.post(f"/manage/categories/{category_id}/onsite/open", {"minutes": "5"}, form_url=f"/manage/events/{event_id}/onsite")
    with app.app_context():
        session = db.session.scalar(select(OnsiteSession))
        session.closes_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    page = web.client.get(f"/manage/events/{event_id}/onsite").get_data(as_text=True)
    assert f"/manage/categories/{category_id}/onsite/open" in page


def test_bad_batch_and_countdown_input(app, web, onsite_world):
    event_id, category_id, _finalists = onsite_world
    for size in ("0", "2001", "abc", ""):
        response = web.post(f"/manage/events/{event_id}/codes", {"group": "resident", "size": size})
        assert response.status_code == 200 and response.mimetype == "text/html" and 'id="size-error"' in response.get_data(as_text=True)
    assert web.post(f"/manage/events/{event_id}/codes", {"group": "judges", "size": "3"}).mimetype == "text/html"
    web.post(f"/manage/categories/{category_id}/onsite/open", {"minutes": "-1"}, form_url=f"/manage/events/{event_id}/onsite")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OnsiteCodeBatch)) == 0
        assert db.session.scalar(select(func.count()).select_from(OnsiteSession)) == 0
