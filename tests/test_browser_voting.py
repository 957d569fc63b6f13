"""Voting in a real browser: two approvals and a receipt, a phone with an on-site code, no JavaScript."""
import os

import pytest
from sqlalchemy import func, select

from voting.ballots.models import Ballot
from voting.extensions import db

from tests import factories
from tests.voting_helpers import voting_event

pytestmark = pytest.mark.browser


def log_in(page, base, email):
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", factories.PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/")


def vote(page, base, url, finalist_ids):
    page.goto(url)
    for finalist_id in finalist_ids:
        page.check(f"input[name=approvals][value='{finalist_id}']")
    page.click("main form button.primary")
    page.wait_for_selector("button[value=cast]")
    page.click("button[value=cast]")
    page.wait_for_url(f"{base}/vote/receipt")
    return page.inner_text("#receipt-code").strip()


def ballots(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Ballot))


def test_resident_approves_two_sees_the_receipt_and_checks_it(app, chromium, live_server, make_user, screenshot_dir):
    event_id, category_id, finalists = voting_event(app)
    resident = make_user("resident")
    page = chromium.new_context(locale="ko-KR").new_page()
    log_in(page, live_server.url, resident.email)
    page.goto(f"{live_server.url}/events/{event_id}/vote")
    page.click(f"a[href='/categories/{category_id}/vote']")
    receipt = vote(page, live_server.url, page.url, finalists[:2])
    assert len(receipt.replace("-", "")) == 16
    assert "영수" in page.content() or "확인 코드" in page.content()
    page.screenshot(path=os.path.join(screenshot_dir, "vote-receipt.png"), full_page=True)

    page.goto(f"{live_server.url}/receipts/check")
    page.fill("#receipt", receipt)
    page.click("main form button.primary")
    assert page.locator(".result-ok").is_visible()
    assert ballots(app) == 1


def test_phone_opens_a_code_url_and_votes(app, chromium, live_server, screenshot_dir):
    from voting.ballots import operations
    from voting.events.models import Category

    event_id, category_id, finalists = voting_event(app)
    with app.test_request_context():
        organizer = factories.user("organizer")
        category = db.session.get(Category, category_id)
        _batch, plain = operations.create_code_batch(category.event, "resident", 1, "", organizer)
        operations.open_onsite_voting(category, None, organizer)
        db.session.commit()
    phone = chromium.new_context(locale="ko-KR", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.goto(f"{live_server.url}/onsite/{event_id}?code={plain[0]}")
    assert page.input_value("#code") == plain[0]
    page.click("main form button.primary")
    page.wait_for_url(f"{live_server.url}/onsite/{event_id}/ballots")
    page.click(f"a[href='/onsite/{event_id}/categories/{category_id}']")
    receipt = vote(page, live_server.url, page.url, [finalists[1]])
    assert receipt
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=os.path.join(screenshot_dir, "vote-phone-receipt.png"), full_page=True)
    assert ballots(app) == 1


def test_voting_works_without_javascript(app, chromium, live_server, make_user):
    _event_id, category_id, finalists = voting_event(app)
    resident = make_user("resident")
    page = chromium.new_context(locale="ko-KR", java_script_enabled=False).new_page()
    log_in(page, live_server.url, resident.email)
    receipt = vote(page, live_server.url, f"{live_server.url}/categories/{category_id}/vote", [finalists[0], finalists[2]])
    assert receipt and ballots(app) == 1


def test_large_text_ballot_fits_a_phone(app, chromium, live_server, make_user, screenshot_dir):
    _event_id, category_id, _finalists = voting_event(app)
    resident = make_user("resident")
    page = chromium.new_context(locale="ko-KR", viewport={"width": 390, "height": 844}).new_page()
    log_in(page, live_server.url, resident.email)
    page.goto(f"{live_server.url}/categories/{category_id}/vote")
    page.evaluate("document.documentElement.style.fontSize = '200%'")  # the CSP refuses style tags
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.locator("main form button.primary").is_visible()
    page.screenshot(path=os.path.join(screenshot_dir, "ballot-large-text.png"), full_page=True)
