"""The organizer previews the results, settles a tie by a recorded draw, closes the event, freezes and
publishes; an anonymous visitor then finds the published results from the event page.

The event is the hand-made one of tests/results_helpers.py with two more ballots in the person
category, so that its two finalists tie across the one award (residents 2 : 2, officials 1 : 1,
no judges: both 100 points). Buttons are found by their ids: their labels are translated later.
"""
import os
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests import factories
from tests.results_helpers import EXPECTED, hand_made_event
from voting.ballots import operations as ballots
from voting.events.models import Category, Event, EventState
from voting.extensions import db
from voting.results.models import ResultSnapshot, TieDecision
from voting.results.scoring import display, draw_order

pytestmark = pytest.mark.browser



def tied_person_category(app, hand):
    with app.app_context():
        person = db.session.get(Category, hand.person_category_id)
        resident, official = factories.user("resident"), factories.user("official")
        db.session.commit()
        ballots.cast_ballot(person, ballots.Voter(user=resident), [hand.finalists["P2"]])
        ballots.cast_ballot(person, ballots.Voter(user=official), [hand.finalists["P1"]])
        db.session.commit()


def test_organizer_previews_settles_a_tie_freezes_and_publishes_and_anyone_sees_the_results(
    app, browser_contexts, live_server, screenshot_dir
):
    hand = hand_made_event(app, close=False)
    tied_person_category(app, hand)
    base = live_server.url
    shot = lambda page, name: page.screenshot(path=os.path.join(screenshot_dir, name), full_page=True)  # noqa: E731

    staff = browser_contexts(viewport={"width": 1280, "height": 900}).new_page()
    staff.goto(f"{base}/login")
    staff.get_by_label("이메일").fill(hand.organizer_email)
    staff.get_by_label("비밀번호").fill(factories.PASSWORD)
    staff.get_by_role("button", name="로그인").click()
    staff.wait_for_url(lambda url: "/login" not in url)

    staff.goto(f"{base}/manage/events/{hand.event_id}")
    staff.locator("#results-preview-link").click()
    staff.wait_for_url(f"**/manage/events/{hand.event_id}/results")
    for letter, (rank, tier, *_parts, score) in EXPECTED.items():
        row = staff.locator(f"#result-{hand.category_id}-{hand.finalists[letter]}")
        expect(row.locator("td.score")).to_have_text(display(score))
        expect(row.locator("td.tier")).to_have_text(tier)
    tie = staff.locator(f"#tie-{hand.person_category_id}-{hand.finalists['P1']}-{hand.finalists['P2']}")
    expect(tie).to_be_visible()
    expect(staff.locator("#close-button")).to_be_visible()
    shot(staff, "results-preview.png")

    # Voting is still open: close the event first, then settle the tie by a recorded draw.
    staff.locator("#close-button").click()
    staff.wait_for_url(f"**/manage/events/{hand.event_id}")
    staff.goto(f"{base}/manage/events/{hand.event_id}/results")
    staff.locator("#freeze-button").click()  # refused: the tie is not settled
    staff.locator("#confirm-button").click()
    staff.wait_for_url(f"**/manage/events/{hand.event_id}/results")
    expect(staff.locator(".flash-error")).to_contain_text("다리 디자인 워킹그룹을 이끈 주민 위원")
    tie.locator(".draw-button").click()
    expect(staff.locator("#confirm-action")).to_contain_text("다리 디자인 워킹그룹을 이끈 주민 위원")
    staff.locator("#confirm-button").click()
    staff.wait_for_url(f"**/manage/categories/{hand.person_category_id}/results")
    expect(staff.locator(f"#decisions-{hand.person_category_id} code.seed")).to_be_visible()
    with app.app_context():
        decision = db.session.scalar(select(TieDecision))
        seed, order = decision.seed, [int(i) for i in decision.drawn_order.split(",")]
    assert tuple(order) == draw_order({hand.finalists["P1"], hand.finalists["P2"]}, seed)
    expect(staff.locator(".flash-success")).to_contain_text(seed)
    expect(staff.locator(f"#result-{hand.person_category_id}-{order[0]} td.tier")).to_have_text("협치인물상")
    shot(staff, "results-tie-drawn.png")

    staff.goto(f"{base}/manage/events/{hand.event_id}/results")
    staff.locator("#freeze-button").click()
    staff.locator("#confirm-button").click()
    staff.wait_for_url(f"**/manage/events/{hand.event_id}/results")
    with app.app_context():
        sha = db.session.scalar(select(ResultSnapshot.sha256))
        assert db.session.get(Event, hand.event_id).state == EventState.FROZEN
    expect(staff.locator("#snapshot-sha256")).to_have_text(sha)
    shot(staff, "results-frozen.png")
    staff.locator("#publish-button").click()
    staff.locator("#confirm-button").click()
    staff.wait_for_url(f"**/events/{hand.event_id}/results")
    with app.app_context():
        assert db.session.get(Event, hand.event_id).state == EventState.PUBLISHED

    # An anonymous visitor on a phone: event page -> results.
    phone = browser_contexts(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    phone.goto(f"{base}/events/{hand.event_id}")
    phone.locator("#results-link").click()
    phone.wait_for_url(f"**/events/{hand.event_id}/results")
    winners = phone.locator(f"#winners-{hand.category_id}")
    expect(winners).to_contain_text("대상")
    expect(winners).to_contain_text("홍제천 테마길 다리 꾸미기")
    expect(phone.locator(f"#winners-{hand.person_category_id}")).to_contain_text("협치인물상")
    expect(phone.locator(f"#result-{hand.category_id}-{hand.finalists['B']} td.score")).to_have_text("70.40")
    expect(phone.locator("#snapshot-sha256")).to_have_text(sha)
    expect(phone.locator(f"#rule-{hand.category_id}")).to_be_visible()
    phone.locator(f"#explain-{hand.category_id}-{hand.finalists['A']} summary").click()
    expect(phone.locator(f"#explain-{hand.category_id}-{hand.finalists['A']}")).to_contain_text("78.00")
    assert re.fullmatch(r"[0-9a-f]{64}", phone.locator("#bundle-sha256").inner_text())
    shot(phone, "results-public-phone.png")
    with phone.expect_download() as download:
        phone.locator("#bundle-link").click()
    assert download.value.suggested_filename == f"results-bundle-event{hand.event_id}.json"
