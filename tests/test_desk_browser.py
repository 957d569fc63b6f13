"""The check-in desk in a real browser: staff on a 360 px phone, in large text, keyboard only.

Staff sign in and land on the desk, check a resident's phone (the code read out to them),
bind a printed card, and that card then votes on the resident's own phone, without
JavaScript; the resident's online vote in the same category is refused. Fields and buttons
are found by their names, so the test does not depend on the wording.
"""
import os
import re
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from voting import sms
from voting.ballots.models import Ballot, OnsiteSession
from voting.database import utcnow
from voting.electors.models import CardBinding
from voting.extensions import db
from voting.identity import parse_phone

from tests import elector_factories, factories

pytestmark = pytest.mark.browser

SMALL_PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
PHONE = "010-2345-6789"
CARD = "DSKA-2BRO-WSE"
CODE_PATTERN = re.compile(r"\b(\d{6})\b")
TOUCH_TARGET_PX = 44


@pytest.fixture
def texts(monkeypatch):
    """The text messages sent, by number: the person reads the code out to the staff."""
    sent = {}
    monkeypatch.setitem(sms.BACKENDS, "console", lambda config, phone, text: sent.setdefault(phone.e164, []).append(text))
    return sent


@pytest.fixture
def desk_event(app):
    """A phone-mode event in its voting window, on-site voting open in its first category, a printed
    card, a staff account, and a resident whose phone was confirmed online; a roll-mode event too."""
    with app.app_context():
        event = factories.event(phase="voting", eligibility="phone")
        organizer = factories.user("organizer")
        staff = factories.user("staff")
        nominator = factories.user("resident")
        finalists = [factories.nomination(event.id, nominator_id=nominator.id, state="finalist", title=f"마을 후보 {i}").id
                     for i in range(2)]
        category_id = event.categories[0].id
        db.session.add(OnsiteSession(category_id=category_id, opened_at=utcnow()))
        elector_factories.card(event.id, organizer.id, CARD)
        resident = factories.user("resident")
        elector = elector_factories.phone_elector(event.id, PHONE, user_id=resident.id)
        roll_event = factories.event(phase="voting", eligibility="roll", name="2019 연희동 명부 행사")
        elector_factories.roll_entry(roll_event.id, "김주민", "010-5555-1234", dong="연희동")
        elector_factories.roll_entry(roll_event.id, "이웃집", "010-6666-1234", dong="남가좌동")
        db.session.commit()
        return SimpleNamespace(id=event.id, category_id=category_id, finalists=finalists, staff_email=staff.email,
                               resident_email=resident.email, elector_id=elector.id, roll_event_id=roll_event.id)


def enlarge(page):
    """Large text, as a browser's text size setting gives it: the app's sizes are in rem."""
    page.add_style_tag(content="html{font-size:200% !important}")
    assert page.evaluate("getComputedStyle(document.documentElement).fontSize") == "32px"


def assert_fits(page):
    """Nothing scrolls sideways, and every button and field is inside the screen and large enough to touch."""
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways on {page.url}: {widths}"
    for element in page.locator("main button, main .button, main input:not([type=hidden])").all():
        if not element.is_visible():
            continue
        box = element.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= widths[1], f"{box} is cut off on {page.url}"
        assert box["height"] >= TOUCH_TARGET_PX, f"{box} is too small to touch on {page.url}"


def tab_to(page, selector, limit=60):
    """Presses Tab until the focused element matches the selector."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector} on {page.url}")


def keyboard_log_in(page, base_url, email):
    page.goto(f"{base_url}/login")
    tab_to(page, "input[name=email]")
    page.keyboard.type(email)
    tab_to(page, "input[name=password]")
    page.keyboard.type(factories.PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base_url}/desk")


def ballots(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Ballot))


def test_staff_check_a_resident_in_and_bind_a_card_that_then_votes(
        app, browser_contexts, live_server, screenshot_dir, desk_event, texts):
    base = live_server.url
    # The app's Content-Security-Policy (style-src 'self') rightly refuses the test's injected style tag.
    page = browser_contexts(**SMALL_PHONE, bypass_csp=True).new_page()
    keyboard_log_in(page, base, desk_event.staff_email)
    enlarge(page)
    assert_fits(page)

    tab_to(page, f"#desk-event-{desk_event.id}")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/desk/events/{desk_event.id}")
    enlarge(page)
    expect(page.locator("#privacy-notice-desk")).to_be_visible()
    assert_fits(page)

    # The resident gives their number; the code goes to their phone, and they read it out.
    tab_to(page, "input[name=phone]")
    page.keyboard.type(PHONE)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/desk/events/{desk_event.id}/walk-in/code#main")
    enlarge(page)
    assert_fits(page)
    expect(page.locator("main")).to_contain_text("6789")
    assert "2345" not in page.content()
    page.screenshot(path=os.path.join(screenshot_dir, "desk-walk-in-code.png"), full_page=True)
    code = CODE_PATTERN.search(texts[parse_phone(PHONE).e164][-1]).group(1)
    tab_to(page, "input[name=code]")
    page.keyboard.type(code)
    page.keyboard.press("Enter")

    # The phone was confirmed online by the resident's account: the desk finds that elector.
    elector_url = f"{base}/desk/events/{desk_event.id}/electors/{desk_event.elector_id}"
    page.wait_for_url(elector_url)
    expect(page.locator(f"#voted-{desk_event.category_id} .badge")).not_to_have_class(re.compile("state-finalist"))
    tab_to(page, "#bind-form input[name=code]")
    page.keyboard.type(CARD.lower())
    page.keyboard.press("Enter")
    page.wait_for_url(f"{elector_url}#main")
    expect(page.locator("#cards-bound")).to_have_text("1")
    enlarge(page)
    assert_fits(page)
    page.screenshot(path=os.path.join(screenshot_dir, "desk-elector.png"), full_page=True)
    with app.app_context():
        assert db.session.get(CardBinding, _card_id(CARD)).elector_id == desk_event.elector_id

    # The card votes on the resident's own phone, without JavaScript.
    voter = browser_contexts(**SMALL_PHONE, java_script_enabled=False).new_page()
    voter.goto(f"{base}/onsite/{desk_event.id}")
    voter.locator("input[name=code]").fill(CARD)
    voter.locator("main button[type=submit]").click()
    voter.wait_for_url(f"{base}/onsite/{desk_event.id}/ballots")
    voter.locator(f"a[href$='/categories/{desk_event.category_id}']").click()
    voter.locator(f"input[name=approvals][value='{desk_event.finalists[0]}']").check()
    voter.locator("main button[type=submit].primary").click()
    voter.locator("button[value=cast]").click()
    voter.wait_for_url(f"{base}/vote/receipt")
    expect(voter.locator("#receipt-code")).to_be_visible()
    assert ballots(app) == 1

    # The desk now sees that the person has voted in that category (yes or no, never how).
    page.reload()
    expect(page.locator(f"#voted-{desk_event.category_id} .badge")).to_have_class(re.compile("state-finalist"))

    # The same resident's online vote in that category is refused.
    online = browser_contexts(**SMALL_PHONE).new_page()
    online.goto(f"{base}/login")
    online.locator("#email").fill(desk_event.resident_email)
    online.locator("#password").fill(factories.PASSWORD)
    online.locator("main button[type=submit]").click()
    online.wait_for_url(lambda url: "/login" not in url)
    refused = online.goto(f"{base}/categories/{desk_event.category_id}/vote")
    assert refused.status == 409
    assert ballots(app) == 1


def test_staff_search_the_roll_on_a_phone_in_large_text(app, browser_contexts, live_server, screenshot_dir, desk_event):
    base = live_server.url
    page = browser_contexts(**SMALL_PHONE, bypass_csp=True).new_page()
    keyboard_log_in(page, base, desk_event.staff_email)
    page.goto(f"{base}/desk/events/{desk_event.roll_event_id}")
    enlarge(page)
    assert_fits(page)
    tab_to(page, "#search-form input[name=name]")
    page.keyboard.type("김주민")
    tab_to(page, "#search-form input[name=last4]")
    page.keyboard.type("1234")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/desk/events/{desk_event.roll_event_id}/search#search")
    expect(page.locator(".desk-result")).to_have_count(1)
    expect(page.locator(".desk-result")).to_contain_text("연희동")
    assert "이웃집" not in page.content() and "5555" not in page.content()
    enlarge(page)
    assert_fits(page)
    page.locator("#search-results").scroll_into_view_if_needed()
    page.screenshot(path=os.path.join(screenshot_dir, "desk-search.png"), full_page=True)
    tab_to(page, ".desk-result a.button")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/electors/\d+$"))
    expect(page.locator("#person")).to_contain_text("김주민")


def test_the_desk_works_without_javascript(app, browser_contexts, live_server, desk_event, texts):
    """A walk-in checked in and a card bound with scripts off (the desk's pages have none)."""
    base = live_server.url
    page = browser_contexts(**SMALL_PHONE, java_script_enabled=False).new_page()
    page.goto(f"{base}/login")
    page.locator("#email").fill(desk_event.staff_email)
    page.locator("#password").fill(factories.PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{base}/desk")
    page.locator(f"#desk-event-{desk_event.id}").click()
    page.locator("#walk-in-form input[name=phone]").fill("010-9876-5432")
    page.locator("#walk-in-form button[type=submit]").click()
    page.wait_for_url(f"{base}/desk/events/{desk_event.id}/walk-in/code#main")
    code = CODE_PATTERN.search(texts[parse_phone("010-9876-5432").e164][-1]).group(1)
    page.locator("#code-form input[name=code]").fill(code)
    page.locator("#code-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/electors/\d+$"))
    page.locator("#bind-form input[name=code]").fill(CARD)
    page.locator("#bind-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/electors/\d+#main$"))
    expect(page.locator("#cards-bound")).to_have_text("1")


def _card_id(plain_code):
    from voting.ballots import codes
    from voting.ballots.models import OnsiteCode

    return db.session.scalar(select(OnsiteCode.id).where(OnsiteCode.code_hash == codes.onsite_code_hash(plain_code)))
