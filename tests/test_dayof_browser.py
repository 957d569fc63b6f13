"""The day-of control panel in a browser: its turnout follows the ballots without a reload, and
the organizer runs on-site voting and the freeze from it, confirming what cannot be undone."""
import pytest
from playwright.sync_api import expect

from tests.conftest import browser_log_in
from tests.test_projector import cast_online, with_organizer
from tests.voting_helpers import voting_event

pytestmark = pytest.mark.browser


def test_the_panel_follows_turnout_live_and_opens_and_closes_on_site_voting(
        app, browser_contexts, live_server, screenshot_dir):
    event_id, category_id, finalists = voting_event(app)
    _organizer_id, email = with_organizer(app)
    page = browser_contexts(viewport={"width": 1280, "height": 900}).new_page()
    browser_log_in(page, live_server.url, email)
    panel = f"{live_server.url}/manage/events/{event_id}/day"
    page.goto(panel)

    # On-site voting opens from the panel, with a countdown, and the panel comes back.
    card = page.locator(f"#day-category-{category_id}")
    card.locator(f"#minutes-{category_id}").fill("10")
    card.locator(".open-onsite").click()
    page.wait_for_url(panel)
    expect(card.locator(".close-onsite")).to_be_visible()

    # Ballots arrive: the numbers change in place, without navigating.
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    page.evaluate("window.panelTestMarker = 'same page'")
    expect(page.locator("#live-mark")).to_be_visible()
    total = page.locator(f"#turnout-{category_id}-total")
    expect(total).to_have_text("0")
    cast_online(app, category_id, "resident", [finalists[0]])
    cast_online(app, category_id, "official", [finalists[1]])
    expect(total).to_have_text("2", timeout=10000)
    expect(page.locator(f"#turnout-{category_id}-resident-online")).to_have_text("1")
    expect(page.locator(f"#turnout-{category_id}-official-online")).to_have_text("1")
    assert page.evaluate("window.panelTestMarker") == "same page" and navigations == []
    page.screenshot(path=f"{screenshot_dir}/dayof-panel.png", full_page=True)

    # Closing on-site voting comes back to the panel too.
    card.locator(".close-onsite").click()
    page.wait_for_url(panel)
    expect(card.locator(".open-onsite")).to_be_visible()


def test_freezing_from_the_panel_asks_first_then_offers_the_reveal_and_the_exports(
        app, browser_contexts, live_server, screenshot_dir):
    from tests.results_helpers import hand_made_event

    hand = hand_made_event(app)
    page = browser_contexts(viewport={"width": 1280, "height": 900}).new_page()
    browser_log_in(page, live_server.url, hand.organizer_email)
    panel = f"{live_server.url}/manage/events/{hand.event_id}/day"
    page.goto(panel)
    page.locator("#freeze-button").click()
    expect(page.locator("#confirm-action")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/dayof-confirm-freeze.png")
    page.locator("#cancel-button").click()
    page.wait_for_url(panel)
    expect(page.locator("#reveal-link")).to_have_count(0)

    page.locator("#freeze-button").click()
    page.locator("#confirm-button").click()
    page.wait_for_url(panel)
    expect(page.locator("#snapshot-sha256")).to_be_visible()
    expect(page.locator("#reveal-link")).to_be_visible()
    with page.expect_download() as download:
        page.locator("#download-zip").click()
    assert download.value.suggested_filename == f"results-event{hand.event_id}.zip"
    page.screenshot(path=f"{screenshot_dir}/dayof-frozen.png", full_page=True)
