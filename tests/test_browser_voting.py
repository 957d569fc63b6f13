"""Voting in a real browser: online, on-site on a phone, without JavaScript, by keyboard, in large text.

Labels and button texts are the Korean ones from voting/translations/ko/LC_MESSAGES/messages.po:
"Vote in %(name)s" 협치 우수사례 투표하기, "Next: check my choices" 다음: 고른 후보 확인,
"Cast my ballot" 이대로 투표하기, "Receipt code" 투표 확인 코드, "Check" 확인,
"On-site voting code" 현장 투표 코드, "Start voting" 투표 시작하기.
"""
import os
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from voting.accounts.models import User
from voting.ballots import operations
from voting.ballots.models import Ballot, BallotApproval, Channel
from voting.events.models import Category, Event
from voting.extensions import db

from tests import factories
from tests.conftest import browser_log_in
from tests.voting_helpers import voting_event

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
CATEGORY_LINK = "협치 우수사례 투표하기"
NEXT = "다음: 고른 후보 확인"
CAST = "이대로 투표하기"
RECEIPT = re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$")


@pytest.fixture
def election(app):
    """An event in its voting window; its first category allows 2 approvals of 3 finalists."""
    event_id, category_id, finalists = voting_event(app)
    return event_id, category_id, finalists


def finalist_title(index):
    return f"본선 후보 {index}"



def ballots_in(app, category_id):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.category_id == category_id))


def approved(app, category_id):
    with app.app_context():
        return sorted(db.session.scalars(select(BallotApproval.nomination_id).where(BallotApproval.category_id == category_id)))


def assert_no_sideways_scroll(page):
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways on {page.url}: {widths}"


def assert_within_width(page, locator):
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    width = page.evaluate("window.innerWidth")
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{box} is not inside the {width}px viewport"


def test_resident_votes_for_two_and_checks_the_receipt(app, browser_contexts, live_server, make_user, election, screenshot_dir):
    event_id, category_id, finalists = election
    resident = make_user("resident")
    page = browser_contexts().new_page()
    browser_log_in(page, live_server.url, resident.email)

    page.goto(f"{live_server.url}/events/{event_id}/vote")
    page.get_by_role("link", name=CATEGORY_LINK).click()
    page.wait_for_url(f"**/categories/{category_id}/vote")
    page.get_by_role("checkbox", name=finalist_title(0)).check()
    page.get_by_role("checkbox", name=finalist_title(2)).check()
    page.get_by_role("button", name=NEXT).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("고른 후보를 확인해 주세요")  # "Check your choices"
    expect(page.locator("ol.chosen li")).to_have_text([finalist_title(0), finalist_title(2)])
    page.get_by_role("button", name=CAST).click()
    page.wait_for_url("**/vote/receipt")
    receipt = page.locator("#receipt-code").inner_text().strip()
    assert RECEIPT.match(receipt), receipt
    page.screenshot(path=os.path.join(screenshot_dir, "vote-receipt.png"), full_page=True)
    assert ballots_in(app, category_id) == 1
    assert approved(app, category_id) == sorted([finalists[0], finalists[2]])

    page.goto(f"{live_server.url}/receipts/check")
    page.get_by_label("투표 확인 코드").fill(receipt)
    page.get_by_role("button", name="확인", exact=True).click()
    expect(page.locator(".result-ok")).to_be_visible()
    expect(page.locator(".result-ok")).to_contain_text("집계되었습니다")


@pytest.fixture
def onsite_code(app, make_user, election):
    """One resident code of a fresh batch, with on-site voting open in the first category."""
    event_id, category_id, _finalists = election
    organizer = make_user("organizer")
    with app.test_request_context():
        event = db.session.get(Event, event_id)
        actor = db.session.get(User, organizer.id)
        _batch, plain_codes = operations.create_code_batch(event, "resident", 1, "", actor)
        operations.open_onsite_voting(db.session.get(Category, category_id), None, actor)
        db.session.commit()
    return plain_codes[0]


def test_onsite_code_on_a_phone(app, browser_contexts, live_server, election, onsite_code, screenshot_dir):
    event_id, category_id, finalists = election
    page = browser_contexts(**PHONE).new_page()

    page.goto(f"{live_server.url}/onsite/{event_id}?code={onsite_code}")
    expect(page.get_by_label("현장 투표 코드")).to_have_value(onsite_code)
    assert_no_sideways_scroll(page)
    page.get_by_role("button", name="투표 시작하기").tap()
    page.wait_for_url(f"**/onsite/{event_id}/ballots")
    page.get_by_role("link", name=CATEGORY_LINK).tap()
    page.wait_for_url(f"**/onsite/{event_id}/categories/{category_id}")
    assert_no_sideways_scroll(page)
    page.get_by_text(finalist_title(1), exact=True).tap()  # the label ticks the box
    expect(page.get_by_role("checkbox", name=finalist_title(1))).to_be_checked()
    page.get_by_role("button", name=NEXT).tap()
    expect(page.get_by_role("button", name=CAST)).to_be_visible()
    assert_no_sideways_scroll(page)
    page.get_by_role("button", name=CAST).tap()
    page.wait_for_url("**/vote/receipt")
    expect(page.locator("#receipt-code")).to_have_text(RECEIPT)
    assert_no_sideways_scroll(page)
    page.screenshot(path=os.path.join(screenshot_dir, "onsite-receipt-phone.png"), full_page=True)

    assert approved(app, category_id) == [finalists[1]]
    with app.app_context():
        assert db.session.scalar(select(Ballot.channel).where(Ballot.category_id == category_id)) == Channel.ONSITE


def test_voting_works_without_javascript(app, browser_contexts, live_server, make_user, election):
    event_id, category_id, finalists = election
    resident = make_user("resident")
    page = browser_contexts(java_script_enabled=False).new_page()
    browser_log_in(page, live_server.url, resident.email)

    page.goto(f"{live_server.url}/events/{event_id}/vote")
    page.get_by_role("link", name=CATEGORY_LINK).click()
    page.wait_for_url(f"**/categories/{category_id}/vote")
    page.get_by_role("checkbox", name=finalist_title(1)).check()
    page.get_by_role("button", name=NEXT).click()
    page.get_by_role("button", name=CAST).click()
    page.wait_for_url("**/vote/receipt")
    expect(page.locator("#receipt-code")).to_have_text(RECEIPT)

    assert ballots_in(app, category_id) == 1
    assert approved(app, category_id) == [finalists[1]]


def tab_to(page, selector, limit=40):
    """Presses Tab until the focused element matches the selector."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector} on {page.url}")


def test_voting_with_the_keyboard_only(app, browser_contexts, live_server, make_user, election):
    event_id, category_id, finalists = election
    resident = make_user("resident")
    page = browser_contexts().new_page()

    page.goto(f"{live_server.url}/login")
    tab_to(page, "input[name=email]")
    page.keyboard.type(resident.email)
    tab_to(page, "input[name=password]")
    page.keyboard.type(factories.PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)

    page.goto(f"{live_server.url}/events/{event_id}/vote")
    tab_to(page, f"a[href$='/categories/{category_id}/vote']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/categories/{category_id}/vote")
    tab_to(page, f"input[type=checkbox][value='{finalists[0]}']")
    page.keyboard.press("Space")
    tab_to(page, f"input[type=checkbox][value='{finalists[1]}']")
    page.keyboard.press("Space")
    expect(page.locator("input.ballot-check:checked")).to_have_count(2)
    tab_to(page, "button[type=submit].primary")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name=CAST)).to_be_visible()
    tab_to(page, "button[value=cast]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/vote/receipt")
    expect(page.locator("#receipt-code")).to_have_text(RECEIPT)
    assert approved(app, category_id) == sorted(finalists[:2])


def test_large_text_on_a_narrow_screen(app, browser_contexts, live_server, make_user, election, screenshot_dir):
    event_id, category_id, _finalists = election
    resident = make_user("resident")
    # The app's Content-Security-Policy (style-src 'self') rightly refuses the injected style tag.
    page = browser_contexts(viewport={"width": 390, "height": 844}, bypass_csp=True).new_page()
    browser_log_in(page, live_server.url, resident.email)

    def enlarge():
        page.add_style_tag(content="html{font-size:200% !important}")
        assert page.evaluate("getComputedStyle(document.documentElement).fontSize") == "32px"

    page.goto(f"{live_server.url}/categories/{category_id}/vote")
    enlarge()
    assert_no_sideways_scroll(page)
    page.get_by_role("checkbox", name=finalist_title(0)).check()
    assert_within_width(page, page.get_by_role("button", name=NEXT))
    page.screenshot(path=os.path.join(screenshot_dir, "ballot-large-text.png"), full_page=True)
    page.get_by_role("button", name=NEXT).click()

    expect(page.get_by_role("button", name=CAST)).to_be_attached()
    enlarge()
    assert_no_sideways_scroll(page)
    assert_within_width(page, page.get_by_role("button", name=CAST))
    page.get_by_role("button", name=CAST).click()

    page.wait_for_url("**/vote/receipt")
    enlarge()
    assert_no_sideways_scroll(page)
    assert_within_width(page, page.locator("#receipt-code"))
    page.screenshot(path=os.path.join(screenshot_dir, "receipt-large-text.png"), full_page=True)
