"""Projector screens of the award day: the on-site voting screen of a category and the award reveal.

The voting screen shows the finalists, how to join, the countdown and live turnout, and never a
finalist's approvals or a rank; its numbers come from status.json, polled without reloads. The
reveal shows frozen results only, tier by tier from the lowest, driven by the keyboard.

Browser tests find things by id and data-* attributes, not by the words of new messages: their
Korean is merged into the catalog later. The event of the reveal is the hand-made one of
tests/results_helpers.py: 협치 우수사례 gives 우수상 to B (70.40) then C (66.67) and 대상 to A
(78.00); 협치 인물 gives 협치인물상 to P1 (66.67).
"""
import io
import os
import re
from datetime import timedelta

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from tests import factories
from tests.conftest import browser_log_in
from tests.results_helpers import freeze, hand_made_event, tie_event
from tests.voting_helpers import voting_event
from voting.accounts.models import User
from voting.ballots import operations
from voting.ballots.models import OnsiteSession
from voting.database import utcnow
from voting.events.models import Category, Event
from voting.extensions import db
from voting.nominations.models import Nomination, NominationPhoto
from voting.results import operations as results_operations

STATUS_KEYS = {"state", "closes_at", "seconds_left", "ballots", "server_time"}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PLAIN_TITLES = ("마을 공유부엌", "골목 정원", "작은 음악회")  # no digits: a count on the card would show


# ---------------------------------------------------------------------------
# Building the day


def with_organizer(app):
    with app.app_context():
        organizer = factories.user("organizer")
        db.session.commit()
        return organizer.id, organizer.email


def plain_title_event(app):
    """An event in its voting window whose three finalists have titles without digits."""
    with app.app_context():
        event = factories.event(phase="voting")
        nominator = factories.user("resident")
        ids = [factories.nomination(event.id, nominator_id=nominator.id, state="finalist", title=title).id
               for title in PLAIN_TITLES]
        db.session.commit()
        return event.id, event.categories[0].id, ids


def open_onsite(app, category_id, organizer_id, minutes=None):
    with app.test_request_context():
        operations.open_onsite_voting(db.session.get(Category, category_id), minutes, db.session.get(User, organizer_id))
        db.session.commit()


def close_onsite(app, category_id, organizer_id):
    with app.test_request_context():
        operations.close_onsite_voting(db.session.get(Category, category_id), db.session.get(User, organizer_id))
        db.session.commit()


def cast_online(app, category_id, role, approvals):
    """A new verified voter of the role casts a ballot through the app's own operation."""
    with app.test_request_context():
        voter = factories.user(role)
        db.session.commit()
        operations.cast_ballot(db.session.get(Category, category_id), operations.Voter(user=voter), approvals)
        db.session.commit()


def cast_with_code(app, event_id, category_id, organizer_id, approvals):
    with app.test_request_context():
        event = db.session.get(Event, event_id)
        _batch, plain = operations.create_code_batch(event, "resident", 1, "", db.session.get(User, organizer_id))
        code = operations.find_code(event, plain[0])
        operations.cast_ballot(db.session.get(Category, category_id), operations.Voter(code=code), approvals)
        db.session.commit()


def enter_paper(app, category_id, organizer_id, group, ballots, counts):
    with app.test_request_context():
        operations.save_paper_totals(db.session.get(Category, category_id), group, ballots, counts,
                                     db.session.get(User, organizer_id))
        db.session.commit()


def finalist_in_the_other_category(app, category_id):
    """(the event's other category, a finalist of it)."""
    with app.app_context():
        category = db.session.get(Category, category_id)
        index, other = next((i, c) for i, c in enumerate(category.event.categories) if c.id != category_id)
        nominator = factories.user("resident")
        finalist = factories.nomination(category.event_id, nominator_id=nominator.id, state="finalist",
                                        category_index=index)
        db.session.commit()
        return other.id, finalist.id


def png(color):
    buffer = io.BytesIO()
    Image.new("RGB", (96, 96), color).save(buffer, "PNG")
    return buffer.getvalue()


def status_of(web, category_id):
    response = web.client.get(f"/manage/categories/{category_id}/screen/status.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def screen_html(web, category_id):
    response = web.client.get(f"/manage/categories/{category_id}/screen")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def finalist_cards(html):
    grid = re.search(r'<ul class="finalists[^"]*" id="finalists"[^>]*>(.*?)</ul>', html, re.S)
    assert grid, "no finalists grid"
    return re.findall(r'<li class="finalist"[^>]*>(.*?)</li>', grid.group(1), re.S)


def text_of(fragment):
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


# ---------------------------------------------------------------------------
# The voting screen and its status


def test_status_follows_the_session_and_counts_every_channel_without_caching(app, web):
    event_id, category_id, finalists = voting_event(app)
    organizer_id, email = with_organizer(app)
    web.login(email)

    status = status_of(web, category_id)
    assert set(status) == STATUS_KEYS
    assert status["state"] == "not_opened" and status["closes_at"] is None and status["seconds_left"] is None
    assert status["ballots"] == {"resident": 0, "official": 0, "total": 0}
    assert ISO_UTC.match(status["server_time"])

    open_onsite(app, category_id, organizer_id, minutes=10)
    cast_online(app, category_id, "resident", [finalists[0]])
    cast_online(app, category_id, "official", [finalists[1]])
    cast_with_code(app, event_id, category_id, organizer_id, [finalists[2]])
    enter_paper(app, category_id, organizer_id, "resident", 3, {finalists[0]: 2, finalists[1]: 1})
    other_category, other_finalist = finalist_in_the_other_category(app, category_id)
    cast_online(app, other_category, "resident", [other_finalist])  # another category: not counted here

    status = status_of(web, category_id)
    assert status["state"] == "open"
    assert ISO_UTC.match(status["closes_at"])
    assert 590 <= status["seconds_left"] <= 600
    assert status["ballots"] == {"resident": 1 + 1 + 3, "official": 1, "total": 6}

    close_onsite(app, category_id, organizer_id)
    status = status_of(web, category_id)
    assert (status["state"], status["closes_at"], status["seconds_left"]) == ("closed", None, None)
    assert status["ballots"]["total"] == 6


def test_a_session_past_its_countdown_is_closed(app, web):
    _event_id, category_id, _finalists = voting_event(app)
    organizer_id, email = with_organizer(app)
    web.login(email)
    open_onsite(app, category_id, organizer_id, minutes=5)
    with app.app_context():
        session = db.session.scalar(select(OnsiteSession).where(OnsiteSession.category_id == category_id))
        session.closes_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    status = status_of(web, category_id)
    assert (status["state"], status["seconds_left"]) == ("closed", None)
    assert 'data-state="closed"' in screen_html(web, category_id)


def test_screen_shows_finalists_and_how_to_join_but_no_count_or_rank(app, web, english):
    event_id, category_id, finalists = plain_title_event(app)
    organizer_id, email = with_organizer(app)
    web.login(email)
    open_onsite(app, category_id, organizer_id, minutes=3)
    # Unequal approvals: 3, 1 and 0. Nothing of that may reach the screen.
    for approvals in ([finalists[0]], [finalists[0], finalists[1]], [finalists[0]]):
        cast_online(app, category_id, "resident", approvals)

    html = screen_html(web, category_id)
    cards = finalist_cards(html)
    assert [text_of(card) for card in cards] == sorted(PLAIN_TITLES)  # ballot order: by title
    for card in cards:
        assert not re.search(r"\d", text_of(card)), "a number on a finalist's card"
    lowered = html.lower()
    for word in ("rank", "approval", "place", "leading", "%"):
        assert word not in text_of(lowered), word
    assert f"localhost/onsite/{event_id}" in html  # the short address, without a scheme
    assert '<svg viewBox="0 0' in html and 'class="qr-code"' in html
    assert 'data-state="open"' in html and 'id="countdown"' in html
    assert re.search(r'id="countdown-value">[23]:\d\d<', html)
    assert 'data-turnout="total">3<' in html
    assert "style=" not in html and "<script>" not in html  # the CSP allows neither

    status = status_of(web, category_id)
    assert set(status) == STATUS_KEYS and set(status["ballots"]) == {"resident", "official", "total"}


def test_person_finalists_show_the_nominee_and_a_photo(app, web):
    _event_id, category_id, finalists = voting_event(app, finalists=2, category_index=1)
    with app.app_context():
        db.session.get(Nomination, finalists[0]).photo = NominationPhoto(data=png("navy"), mime_type="image/png",
                                                                        width=96, height=96)
        db.session.commit()
    _organizer_id, email = with_organizer(app)
    web.login(email)
    cards = finalist_cards(screen_html(web, category_id))
    assert all("홍길동 · 주민위원" in card for card in cards)
    assert f'src="/nominations/{finalists[0]}/photo"' in cards[0] and "<img" not in cards[1]


def test_many_finalists_get_a_denser_grid_without_photos(app, web):
    _event_id, category_id, _finalists = voting_event(app, finalists=40)
    _organizer_id, email = with_organizer(app)
    web.login(email)
    html = screen_html(web, category_id)
    assert len(finalist_cards(html)) == 40
    assert 'class="finalists density-7"' in html  # four columns, smaller type, no thumbnails


# ---------------------------------------------------------------------------
# The award reveal, without a browser


def slides_of(html):
    """[(kind, tier, [finalist ids])] of the reveal page, in order."""
    slides = []
    for match in re.finditer(r'<section class="slide[^"]*"([^>]*)>(.*?)</section>', html, re.S):
        attributes, content = match.groups()
        kind = re.search(r'data-kind="(\w+)"', attributes).group(1)
        tier = re.search(r'data-tier="([^"]+)"', attributes)
        ids = [int(i) for i in re.findall(r'data-finalist-id="(\d+)"', content)]
        slides.append((kind, tier.group(1) if tier else None, ids))
    return slides


def test_reveal_is_refused_until_the_results_are_frozen(app, web, english):
    hand = hand_made_event(app)
    web.login(hand.organizer_email)
    response = web.client.get(f"/manage/events/{hand.event_id}/reveal")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "The results are not frozen yet" in page
    assert f'href="/manage/events/{hand.event_id}/results"' in page
    assert not any(title in page for title in ("홍제천 테마길 다리 꾸미기", "공동체 마을 밥상"))
    assert web.client.get("/manage/events/999999/reveal").status_code == 404


def test_reveal_goes_tier_by_tier_from_the_lowest_with_scores(app, web, english):
    hand = hand_made_event(app)
    freeze(app, hand.event_id)
    web.login(hand.organizer_email)
    response = web.client.get(f"/manage/events/{hand.event_id}/reveal")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    a, b, c, p1 = hand.ids("A", "B", "C", "P1")
    assert slides_of(html) == [
        ("title", None, []),
        ("category", None, []),
        ("tier", "우수상", [b, c]),
        ("tier", "대상", [a]),
        ("category", None, []),
        ("tier", "협치인물상", [p1]),
        ("closing", None, []),
    ]
    for finalist, score in ((a, "78.00"), (b, "70.40"), (c, "66.67"), (p1, "66.67")):
        card = re.search(rf'data-finalist-id="{finalist}">(.*?)</li>', html, re.S).group(1)
        assert f'<strong class="score">{score}</strong>' in card
        assert "Joint award" not in card
    assert "다리 디자인 워킹그룹을 이끈 주민 위원" in html and "작은 도서관 주민 모임 대표" not in html  # P2 has no award
    assert "style=" not in html and "<script>" not in html


def test_reveal_marks_a_joint_award(app, web, english):
    event_id, category_id, ids, email = tie_event(app)
    with app.test_request_context():
        actor = db.session.scalar(select(User).where(User.email == email))
        results_operations.decide_tie(db.session.get(Category, category_id), ids[:2], "joint", actor)
        db.session.commit()
    freeze(app, event_id)
    web.login(email)
    html = web.client.get(f"/manage/events/{event_id}/reveal").get_data(as_text=True)
    tiers = [(tier, found) for kind, tier, found in slides_of(html) if kind == "tier"]
    assert tiers[0] == ("우수상", [ids[2]])
    assert tiers[1][0] == "대상" and sorted(tiers[1][1]) == sorted(ids[:2])
    for finalist in ids[:2]:
        assert "Joint award" in re.search(rf'data-finalist-id="{finalist}">(.*?)</li>', html, re.S).group(1)


def test_organizer_pages_link_to_the_screens(app, web, english):
    hand = hand_made_event(app)
    web.login(hand.organizer_email)
    onsite = web.client.get(f"/manage/events/{hand.event_id}/onsite").get_data(as_text=True)
    for category_id in (hand.category_id, hand.person_category_id):
        assert f'href="/manage/categories/{category_id}/screen"' in onsite
    reveal_link = f'href="/manage/events/{hand.event_id}/reveal"'
    assert reveal_link not in web.client.get(f"/manage/events/{hand.event_id}/results").get_data(as_text=True)
    freeze(app, hand.event_id)
    assert reveal_link in web.client.get(f"/manage/events/{hand.event_id}/results").get_data(as_text=True)


@pytest.mark.parametrize("role", ["anonymous", "resident", "official", "judge"])
def test_only_organizers_may_open_the_screens(app, web, make_user, role):
    hand = hand_made_event(app)
    freeze(app, hand.event_id)
    if role != "anonymous":
        web.login(make_user(role).email)
    for url in (f"/manage/categories/{hand.category_id}/screen",
                f"/manage/categories/{hand.category_id}/screen/status.json",
                f"/manage/events/{hand.event_id}/reveal"):
        response = web.client.get(url)
        if role == "anonymous":
            assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
        else:
            assert response.status_code == 403, (role, url)
        assert "홍제천 테마길 다리 꾸미기" not in response.get_data(as_text=True)


# ---------------------------------------------------------------------------
# In a browser

FULL_HD = {"width": 1920, "height": 1080}
HD = {"width": 1280, "height": 720}



def assert_no_scrolling(page):
    sizes = page.evaluate(
        "() => { const s = document.scrollingElement;"
        " return [s.scrollHeight, window.innerHeight, s.scrollWidth, window.innerWidth]; }"
    )
    assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3], f"the page scrolls on {page.url}: {sizes}"


def clipped_cards(page, selector):
    """Cards whose text does not fit in them, or that lie outside the window."""
    return page.evaluate(
        """(selector) => Array.from(document.querySelectorAll(selector)).filter((card) => {
             const box = card.getBoundingClientRect();
             return card.scrollHeight > card.clientHeight + 1 || card.scrollWidth > card.clientWidth + 1
               || box.left < 0 || box.top < 0 || box.right > innerWidth || box.bottom > innerHeight;
           }).map((card) => card.textContent.trim())""",
        selector,
    )


def font_px(page, selector):
    return page.evaluate("(s) => Math.min(...Array.from(document.querySelectorAll(s))"
                         ".map((e) => parseFloat(getComputedStyle(e).fontSize)))", selector)


def within_window(page, selector):
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return box is not None and box["x"] >= 0 and box["y"] >= 0 and \
        box["x"] + box["width"] <= size["width"] and box["y"] + box["height"] <= size["height"]


@pytest.mark.browser
def test_reveal_with_the_keyboard_tier_by_tier_lowest_first(app, browser_contexts, live_server, screenshot_dir):
    hand = hand_made_event(app)
    freeze(app, hand.event_id)
    with app.app_context():
        titles = {letter: db.session.get(Nomination, nid).title for letter, nid in hand.finalists.items()}
        event_name = db.session.get(Event, hand.event_id).name
    page = browser_contexts(viewport=HD, reduced_motion="reduce").new_page()
    browser_log_in(page, live_server.url, hand.organizer_email)
    page.goto(f"{live_server.url}/manage/events/{hand.event_id}/reveal")
    current = page.locator(".slide.is-current")

    def at(step, kind, names=(), absent=()):
        expect(current).to_have_attribute("data-step", str(step))
        expect(current).to_have_attribute("data-kind", kind)
        assert page.evaluate("location.hash") == f"#step-{step}"
        assert page.locator(".slide:visible").count() == 1
        for letter in names:
            expect(current.locator(f'[data-finalist-id="{hand.finalists[letter]}"] .awardee-title')).to_have_text(titles[letter])
        for letter in absent:
            expect(page.get_by_text(titles[letter], exact=True)).to_be_hidden()
        assert_no_scrolling(page)
        assert clipped_cards(page, ".slide.is-current .awardee") == []

    at(1, "title", absent="ABC")
    expect(current.locator("h1")).to_have_text(event_name)
    page.keyboard.press("PageDown")
    at(2, "category", absent="ABC")
    expect(current.locator(".slide-title")).to_have_text("협치 우수사례")
    page.keyboard.press("PageDown")
    at(3, "tier", names="BC", absent="A")
    expect(current.locator(".tier-name")).to_have_text("우수상")
    expect(current.locator(".awardee-title")).to_have_text([titles["B"], titles["C"]])  # in rank order
    expect(current.locator(".score")).to_have_text(["70.40", "66.67"])
    page.screenshot(path=os.path.join(screenshot_dir, "projector-reveal.png"))
    page.keyboard.press("ArrowRight")
    at(4, "tier", names="A", absent="BC")
    expect(current.locator(".tier-name")).to_have_text("대상")
    expect(current.locator(".score")).to_have_text(["78.00"])
    page.keyboard.press("ArrowLeft")
    at(3, "tier", names="BC", absent="A")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("PageDown")
    at(5, "category")
    expect(current.locator(".slide-title")).to_have_text("협치 인물")
    page.keyboard.press("PageDown")
    at(6, "tier", names=["P1"], absent=["P2"])
    expect(current.locator(".tier-name")).to_have_text("협치인물상")

    # A reload (the laptop's browser crashed, someone pressed F5) resumes at the same step.
    page.reload()
    at(6, "tier", names=["P1"])
    page.keyboard.press("PageDown")
    at(7, "closing")
    page.keyboard.press("PageDown")  # the last slide stays
    at(7, "closing")
    page.keyboard.press("PageUp")
    at(6, "tier")
    page.keyboard.press("Home")
    at(1, "title")
    page.keyboard.press("End")
    at(7, "closing")


@pytest.mark.browser
def test_reveal_without_javascript_shows_every_slide(app, browser_contexts, live_server):
    hand = hand_made_event(app)
    freeze(app, hand.event_id)
    page = browser_contexts(viewport=HD, java_script_enabled=False).new_page()
    browser_log_in(page, live_server.url, hand.organizer_email)
    page.goto(f"{live_server.url}/manage/events/{hand.event_id}/reveal#step-4")
    expect(page.locator(".slide")).to_have_count(7)
    for step in range(1, 8):
        expect(page.locator(f"#step-{step}")).to_be_visible()
    expect(page.locator("#step-4 .tier-name")).to_be_in_viewport()
    expect(page.locator("#reveal-controls")).to_be_hidden()


def long_title(index):
    return f"주민과 구청이 함께 가꾼 골목 정원과 공유부엌 {index + 1}호"


@pytest.mark.browser
@pytest.mark.parametrize(("viewport", "name"), [(FULL_HD, "projector-voting-1920.png"), (HD, "projector-voting-1280.png")])
def test_voting_screen_with_forty_finalists_fits_without_scrolling(app, browser_contexts, live_server, screenshot_dir,
                                                                    viewport, name):
    with app.app_context():
        event = factories.event(phase="voting")
        nominator = factories.user("resident")
        for index in range(40):
            factories.nomination(event.id, nominator_id=nominator.id, state="finalist", title=long_title(index))
        db.session.commit()
        event_id, category_id = event.id, event.categories[0].id
    organizer_id, email = with_organizer(app)
    open_onsite(app, category_id, organizer_id, minutes=15)
    cast_online(app, category_id, "resident", [_first_finalist(app, category_id)])

    page = browser_contexts(viewport=viewport).new_page()
    browser_log_in(page, live_server.url, email)
    page.goto(f"{live_server.url}/manage/categories/{category_id}/screen")
    expect(page.locator(".finalist")).to_have_count(40)
    expect(page.locator("#countdown-value")).to_have_text(re.compile(r"^1[45]:\d\d$"))
    page.evaluate("document.fonts.ready")
    assert_no_scrolling(page)
    assert clipped_cards(page, ".finalist") == []
    assert font_px(page, ".finalist-title") >= 16  # still readable from the back of the hall
    for selector in (".qr", "#join-address", "#countdown", "#turnout-total", "#category-name"):
        assert within_window(page, selector), selector
    assert page.locator(".qr").bounding_box()["height"] >= viewport["height"] * 0.15
    expect(page.locator("#join-address")).to_have_text(f"127.0.0.1:{live_server.server.server_port}/onsite/{event_id}")
    expect(page.locator("#turnout-total")).to_have_text("1")
    page.screenshot(path=os.path.join(screenshot_dir, name))


def _first_finalist(app, category_id):
    with app.app_context():
        return operations.finalists(db.session.get(Category, category_id))[0].id


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [FULL_HD, HD])
def test_voting_screen_for_a_few_finalists_uses_large_type(app, browser_contexts, live_server, viewport):
    _event_id, category_id, finalists = voting_event(app, finalists=6, category_index=1)
    with app.app_context():
        db.session.get(Nomination, finalists[0]).photo = NominationPhoto(data=png("teal"), mime_type="image/png",
                                                                        width=96, height=96)
        db.session.commit()
    _organizer_id, email = with_organizer(app)
    page = browser_contexts(viewport=viewport).new_page()
    browser_log_in(page, live_server.url, email)
    page.goto(f"{live_server.url}/manage/categories/{category_id}/screen")
    expect(page.locator(".finalist")).to_have_count(6)
    expect(page.locator(".finalist-photo")).to_have_count(1)
    assert page.locator(".finalist-photo").evaluate("(img) => img.complete && img.naturalWidth") == 96
    assert font_px(page, ".finalist-title") >= 28 * viewport["height"] / 720
    expect(page.locator("body")).to_have_attribute("data-state", "not_opened")
    expect(page.locator("#countdown")).to_be_hidden()
    assert_no_scrolling(page)
    assert clipped_cards(page, ".finalist") == []


@pytest.mark.browser
def test_live_turnout_changes_while_ballots_arrive_without_a_reload(app, browser_contexts, live_server, screenshot_dir):
    event_id, category_id, finalists = voting_event(app)
    organizer_id, email = with_organizer(app)
    open_onsite(app, category_id, organizer_id, minutes=5)

    page = browser_contexts(viewport=HD).new_page()
    browser_log_in(page, live_server.url, email)
    page.goto(f"{live_server.url}/manage/categories/{category_id}/screen")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    page.evaluate("window.projectorTestMarker = 'still the same page'")
    total, residents, officials = page.locator("#turnout-total"), page.locator("#turnout-resident"), page.locator("#turnout-official")
    expect(total).to_have_text("0")

    # The countdown runs: visible, m:ss, going down.
    countdown = page.locator("#countdown-value")
    expect(page.locator("#countdown")).to_be_visible()
    expect(countdown).to_have_text(re.compile(r"^[45]:\d\d$"))
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=3000)

    cast_online(app, category_id, "resident", [finalists[0]])
    expect(total).to_have_text("1", timeout=8000)
    cast_online(app, category_id, "official", [finalists[1], finalists[2]])
    cast_with_code(app, event_id, category_id, organizer_id, [finalists[2]])
    expect(total).to_have_text("3", timeout=8000)
    expect(residents).to_have_text("2")
    expect(officials).to_have_text("1")

    # Weak Wi-Fi: the poll fails, the numbers stay, a small mark says so; then it comes back.
    page.route("**/screen/status.json", lambda route: route.abort("internetdisconnected"))
    expect(page.locator("#connection")).to_be_visible(timeout=8000)
    expect(total).to_have_text("3")
    cast_online(app, category_id, "resident", [finalists[1]])
    page.unroute("**/screen/status.json")
    expect(total).to_have_text("4", timeout=20000)
    expect(page.locator("#connection")).to_be_hidden()
    page.screenshot(path=os.path.join(screenshot_dir, "projector-voting-live.png"))

    # The organizer closes on-site voting: the screen says so, still without a reload.
    close_onsite(app, category_id, organizer_id)
    expect(page.locator("body")).to_have_attribute("data-state", "closed", timeout=8000)
    expect(page.locator("#closed-note")).to_be_visible()
    expect(page.locator(".qr")).to_be_hidden()
    expect(page.locator("#countdown")).to_be_hidden()
    expect(total).to_have_text("4")

    assert page.evaluate("window.projectorTestMarker") == "still the same page"
    assert navigations == []


@pytest.mark.browser
def test_the_screen_says_closed_when_the_countdown_runs_out(app, browser_contexts, live_server):
    _event_id, category_id, _finalists = voting_event(app)
    organizer_id, email = with_organizer(app)
    open_onsite(app, category_id, organizer_id, minutes=1)
    page = browser_contexts(viewport=HD).new_page()
    browser_log_in(page, live_server.url, email)
    with app.app_context():
        session = db.session.scalar(select(OnsiteSession).where(OnsiteSession.category_id == category_id))
        session.closes_at = utcnow() + timedelta(seconds=6)
        db.session.commit()
    page.goto(f"{live_server.url}/manage/categories/{category_id}/screen")
    expect(page.locator("#countdown-value")).to_have_text(re.compile(r"^0:0[1-6]$"))
    expect(page.locator("#countdown")).to_have_class(re.compile("is-ending"))
    expect(page.locator("body")).to_have_attribute("data-state", "closed", timeout=10000)
    expect(page.locator("#closed-note")).to_be_visible()


def test_the_screen_says_so_when_the_organizer_is_signed_out_and_recovers(app, browser_contexts, live_server):
    event_id, category_id, finalists = voting_event(app)
    organizer_id, email = with_organizer(app)
    open_onsite(app, category_id, organizer_id)
    context = browser_contexts(viewport=HD)
    page = context.new_page()
    browser_log_in(page, live_server.url, email)
    page.goto(f"{live_server.url}/manage/categories/{category_id}/screen")
    expect(page.locator("#turnout-total")).to_have_text("0")
    expect(page.locator("#signed-out")).to_be_hidden()

    context.clear_cookies()  # the session is gone, as after a server-side sign-out or expiry
    expect(page.locator("#signed-out")).to_be_visible(timeout=8000)
    expect(page.locator("#turnout-total")).to_have_text("0")

    browser_log_in(context.new_page(), live_server.url, email)  # signing in again in another tab
    cast_online(app, category_id, "resident", [finalists[0]])
    expect(page.locator("#turnout-total")).to_have_text("1", timeout=20000)
    expect(page.locator("#signed-out")).to_be_hidden()
