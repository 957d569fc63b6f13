"""The public archive (/archive): published events only, newest first, with each category's awards."""
import html as html_module
import re
from datetime import datetime, timezone

from sqlalchemy import update

from tests.results_helpers import freeze, hand_made_event, organizer, tie_event
from tests.voting_helpers import voting_event
from voting.events.models import Category, Event
from voting.extensions import db
from voting.results import operations as results
from voting.results.models import ResultSnapshot

SECTION = re.compile(r'<section class="card archive-entry" id="archive-(\d+)">(.*?)</section>', re.S)
EMPTY = 'id="archive-empty"'


def set_year(app, event_id, year):
    with app.app_context():
        db.session.execute(update(Event).where(Event.id == event_id).values(year=year))
        db.session.commit()


def publish(app, event_id, when=None):
    """Publishes through the operation; `when` (UTC) then fixes the recorded publish time, so the
    order does not hang on two publications within one clock tick."""
    with app.app_context():
        results.publish_results(db.session.get(Event, event_id))
        db.session.commit()
        if when is not None:
            db.session.execute(update(ResultSnapshot).where(ResultSnapshot.event_id == event_id)
                               .values(published_at=when))
            db.session.commit()


def joint_tie_event(app):
    event_id, category_id, ids, email = tie_event(app)
    with app.app_context():
        results.decide_tie(db.session.get(Category, category_id), ids[:2], "joint", organizer(app, email))
        db.session.commit()
    freeze(app, event_id)
    return event_id, ids


def entries(html):
    """[(event id, section text with single spaces)] in page order."""
    return [(int(event_id), html_module.unescape(re.sub(r"\s+", " ", body))) for event_id, body in SECTION.findall(html)]


def awards(section):
    """{category name: [award line ...]} of one archive entry, or the "no awards" text."""
    found = {}
    for name, body in re.findall(r"<h3>(.*?)</h3>(.*?)(?=<h3>|<p class=\"actions\">)", section, re.S):
        lines = [re.sub(r"<[^>]+>", "", item).strip() for item in re.findall(r"<li>(.*?)</li>", body, re.S)]
        found[name] = lines or re.sub(r"<[^>]+>", "", body).strip()
    return found


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def test_published_events_newest_first_with_their_awards_and_links(app, client, english):
    hand = hand_made_event(app)                       # published second in 2019
    freeze(app, hand.event_id, hand.organizer_id)
    joint_id, joint_ids = joint_tie_event(app)        # published first in 2019
    recent = hand_made_event(app)                     # 2020: first, though published earliest of all
    set_year(app, recent.event_id, 2020)
    freeze(app, recent.event_id, recent.organizer_id)
    frozen_only = hand_made_event(app)                # frozen, never published
    freeze(app, frozen_only.event_id, frozen_only.organizer_id)
    closed = hand_made_event(app)                     # closed, not frozen
    open_id, _category, _ids = voting_event(app)      # open, voting
    publish(app, recent.event_id, utc(2019, 1, 1, 3))
    publish(app, joint_id, utc(2019, 12, 13, 9))
    publish(app, hand.event_id, utc(2019, 12, 20, 9))

    response = client.get("/archive")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    listed = entries(html)
    assert [event_id for event_id, _section in listed] == [recent.event_id, hand.event_id, joint_id]
    for absent in (frozen_only.event_id, closed.event_id, open_id):
        assert f'id="archive-{absent}"' not in html
        assert f"/events/{absent}/results" not in html
    assert EMPTY not in html

    sections = dict(listed)
    with app.app_context():
        names = {event_id: db.session.get(Event, event_id).name for event_id in (hand.event_id, joint_id)}
    hand_section = sections[hand.event_id]
    assert names[hand.event_id] in hand_section
    assert "Published on Dec 20, 2019." in hand_section       # Seoul date of 09:00 UTC
    assert awards(hand_section) == {
        "협치 우수사례": ["대상 · 홍제천 테마길 다리 꾸미기", "우수상 · 주민 공간, 거듭나는 작은 도서관", "우수상 · 공동체 마을 밥상"],
        "협치 인물": ["협치인물상 · 다리 디자인 워킹그룹을 이끈 주민 위원 (홍길동)"],
    }
    for href in (f"/events/{hand.event_id}/results", f"/events/{hand.event_id}/results/bundle.json",
                 f"/events/{hand.event_id}/results.csv"):
        assert f'href="{href}"' in hand_section
    assert "Published on Jan 1, 2019." in sections[recent.event_id]

    joint_section = sections[joint_id]
    assert awards(joint_section) == {
        "협치 우수사례": ["대상 · 마을 공유부엌 · joint award", "대상 · 골목 정원 · joint award", "우수상 · 작은 음악회"],
        "협치 인물": "No awards in this category.",
    }

    # The links work for anyone.
    for href in (f"/events/{hand.event_id}/results", f"/events/{hand.event_id}/results/bundle.json",
                 f"/events/{joint_id}/results.csv"):
        assert app.test_client().get(href).status_code == 200, href


def test_the_archive_is_empty_until_something_is_published(app, client, english):
    assert EMPTY in client.get("/archive").get_data(as_text=True)
    hand = hand_made_event(app)
    freeze(app, hand.event_id, hand.organizer_id)
    voting_event(app)
    html = client.get("/archive").get_data(as_text=True)
    assert EMPTY in html and "No results have been published yet." in html
    assert "archive-entry" not in html and "홍제천 테마길 다리 꾸미기" not in html
    publish(app, hand.event_id)
    html = client.get("/archive").get_data(as_text=True)
    assert EMPTY not in html and [event_id for event_id, _ in entries(html)] == [hand.event_id]


def test_organizers_see_the_same_archive_no_unpublished_results(app, web, english):
    hand = hand_made_event(app)
    freeze(app, hand.event_id, hand.organizer_id)
    web.login(hand.organizer_email)
    html = web.client.get("/archive").get_data(as_text=True)
    assert EMPTY in html and f'id="archive-{hand.event_id}"' not in html


def test_the_home_page_and_the_menu_link_the_archive(client, english):
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'<nav[^>]*site-nav.*?<a href="/archive">Archive</a>', html, re.S)
    assert '<a href="/archive">Archive of past sharing parties and their results</a>' in html
    assert client.get("/archive").status_code == 200
