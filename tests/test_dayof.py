"""The award-day control panel (/manage/events/<id>/day, voting/dayof/routes.py) and its status JSON.

The panel's buttons post to the routes that do the work, with ``next`` pointing back to the
panel; freezing, publishing and settling a tie go through the confirmation page. The panel never
shows a ranking or a score: the laptop running it is often the one on the projector.
"""
import html as html_module
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from tests import factories
from tests.conftest import Browserless, app_on_empty_tables
from tests.results_helpers import EXPECTED, freeze, hand_made_event, tie_event
from tests.test_confirmation import confirmation, form_with_button, location, parse, submit
from tests.voting_helpers import cast_online, receipt_from, voting_event
from voting.ballots import operations as ballots
from voting.events.models import Event, EventState
from voting.extensions import db
from voting.results.models import ResultSnapshot, TieDecision
from voting.results.scoring import display

GROUPS = ("resident", "official")
CHANNELS = ("online", "onsite", "paper")
TIER_NAMES = ("대상", "우수상", "협치인물상")


@pytest.fixture(scope="module")
def app(migrated_database, smtp_server):
    """One app for the module; every test builds its own events (the shared ones are only read)."""
    yield from app_on_empty_tables(migrated_database, smtp_server)


def panel_url(event_id):
    return f"/manage/events/{event_id}/day"


def status_url(event_id):
    return f"/manage/events/{event_id}/day/status.json"


def organizer_client(app, email):
    web = Browserless(app.test_client())
    assert web.login(email).status_code == 302
    assert web.post("/language", {"lang": "en", "next": "/"}, form_url="/").status_code == 302
    return web


def new_organizer(app):
    with app.app_context():
        user = factories.user("organizer")
        db.session.commit()
        return user.email


def panel(web, event_id):
    response = web.client.get(panel_url(event_id))
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def forms_to(html, action):
    return [form for form in parse(html).forms if form["attrs"].get("action") == action]


def field(form, name):
    values = [value for field_name, value, _kind in form["inputs"] if field_name == name]
    assert len(values) == 1, (name, form)
    return values[0]


def turnout_cells(html, category_id):
    """{(group, channel): number} as the panel's table shows them, with the totals."""
    cells = {}
    for group in GROUPS:
        for channel in (*CHANNELS, "total"):
            match = re.search(rf'id="turnout-{category_id}-{group}-{channel}">(\d+)<', html)
            assert match, (group, channel)
            cells[(group, channel)] = int(match.group(1))
    cells["total"] = int(re.search(rf'id="turnout-{category_id}-total">(\d+)<', html).group(1))
    return cells


def expected_cells(app, event_id, category_id):
    """The same numbers from voting.ballots.operations.turnout."""
    with app.app_context():
        counts = ballots.turnout(db.session.get(Event, event_id))
    cells = {}
    for group in GROUPS:
        for channel in CHANNELS:
            cells[(group, channel)] = counts.get((category_id, group, channel), 0)
        cells[(group, "total")] = sum(cells[(group, channel)] for channel in CHANNELS)
    cells["total"] = cells[("resident", "total")] + cells[("official", "total")]
    return cells


def state_of(app, event_id):
    with app.app_context():
        return db.session.get(Event, event_id).state


def assert_no_rankings(html, titles=()):
    """Nothing on the page ranks or scores a finalist."""
    for marker in ("data-rank", "data-score", "data-tier", 'class="rank"', 'class="score"', "points"):
        assert marker not in html, marker
    for letter, (_rank, _tier, c_res, c_off, judges, score) in EXPECTED.items():
        for value in (score, c_res, c_off, judges):
            text = display(value)
            if text not in ("100.00", "50.00"):  # too common to tell anything; the rest are the hand event's
                assert text not in html, (letter, text)
        assert f"{score.numerator}/{score.denominator}" not in html, letter
    for title in titles:
        assert title not in html, title


@dataclass
class Shared:
    open_hand: object        # the hand-made event, still open (voting window open), with every kind of vote
    closed_hand: object      # the hand-made event, closed
    frozen_hand: object      # the hand-made event, frozen (not published)
    frozen_sha: str


@pytest.fixture(scope="module")
def shared(app):
    open_hand = hand_made_event(app, close=False)
    closed_hand = hand_made_event(app)
    frozen_hand = hand_made_event(app)
    sha = freeze(app, frozen_hand.event_id, frozen_hand.organizer_id)
    return Shared(open_hand, closed_hand, frozen_hand, sha)


def hand_titles(app, hand):
    from voting.nominations.models import Nomination

    with app.app_context():
        return [db.session.get(Nomination, i).title for i in hand.finalists.values()]


# ---------------------------------------------------------------- an open event


def test_the_panel_of_an_open_event(app, shared, english):
    hand = shared.open_hand
    web = organizer_client(app, hand.organizer_email)
    html = panel(web, hand.event_id)
    here = panel_url(hand.event_id)
    assert f'data-status-url="{status_url(hand.event_id)}"' in html
    # What static/js/dayof.js needs: its file, served by the app, and the marks it shows and hides.
    assert '<script src="/static/js/dayof.js" defer></script>' in html
    script = web.client.get("/static/js/dayof.js")
    assert script.status_code == 200 and b"data-status-url" in script.data
    for mark in ('id="day-panel"', 'id="live-mark" hidden', 'id="offline-mark" hidden', 'id="changed-mark" hidden',
                 'id="refresh-link"'):
        assert mark in html, mark
    assert 'id="event-state">Open<' in html
    for category_id in (hand.category_id, hand.person_category_id):
        assert f'data-category="{category_id}" data-session-open="false"' in html
        [opening] = forms_to(html, f"/manage/categories/{category_id}/onsite/open")
        assert opening["attrs"]["method"] == "post" and field(opening, "next") == here
        assert field(opening, "minutes") == "" and field(opening, "csrf_token")
        assert forms_to(html, f"/manage/categories/{category_id}/onsite/close") == []
        assert f'href="/manage/categories/{category_id}/screen"' in html
        assert turnout_cells(html, category_id) == expected_cells(app, hand.event_id, category_id)
        for group in GROUPS:
            [link] = [a["href"] for a in parse(html).links
                      if a.get("href", "").startswith(f"/manage/categories/{category_id}/paper/{group}")]
            assert parse_qs(urlsplit(link).query) == {"next": [here]}
            assert web.client.get(link).status_code == 200
    # The hand-made numbers themselves (see tests/results_helpers.py).
    assert turnout_cells(html, hand.category_id) == {
        ("resident", "online"): 3, ("resident", "onsite"): 2, ("resident", "paper"): 4, ("resident", "total"): 9,
        ("official", "online"): 2, ("official", "onsite"): 0, ("official", "paper"): 2, ("official", "total"): 4,
        "total": 13}
    assert turnout_cells(html, hand.person_category_id)["total"] == 4
    assert "4 paper ballots entered" in html and "2 paper ballots entered" in html and "none entered" in html
    [closing] = forms_to(html, f"/manage/events/{hand.event_id}/state")
    assert field(closing, "state") == "closed" and field(closing, "next") == here
    for absent in ('id="freeze-button"', 'id="publish-button"', 'id="downloads"', 'id="reveal-link"',
                   'class="notice tie"', 'id="day-ties-', 'id="published"', 'id="snapshot-sha256"'):
        assert absent not in html, absent
    assert_no_rankings(html, hand_titles(app, hand))


def test_the_panel_never_shows_rankings_or_scores_before_publishing(app, shared, english):
    for hand in (shared.open_hand, shared.closed_hand, shared.frozen_hand):
        web = organizer_client(app, hand.organizer_email)
        html = panel(web, hand.event_id)
        assert_no_rankings(html, hand_titles(app, hand))
        for tier in TIER_NAMES:
            assert tier not in html, tier
        status = web.client.get(status_url(hand.event_id)).get_data(as_text=True)
        assert "rank" not in status and "score" not in status and "tier" not in status


def test_the_turnout_json_has_the_panels_numbers_and_is_not_cached(app, shared, english):
    hand = shared.open_hand
    web = organizer_client(app, hand.organizer_email)
    response = web.client.get(status_url(hand.event_id))
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    status = response.get_json()
    assert set(status) == {"server_time", "turnout", "sessions"}
    assert set(status["turnout"]) == set(status["sessions"]) == {str(hand.category_id), str(hand.person_category_id)}
    html = panel(web, hand.event_id)
    for category_id in (hand.category_id, hand.person_category_id):
        row = status["turnout"][str(category_id)]
        shown = turnout_cells(html, category_id)
        for group in GROUPS:
            assert row[group] == {channel: shown[(group, channel)] for channel in (*CHANNELS, "total")}
        assert row["total"] == shown["total"]
        assert status["sessions"][str(category_id)] is None


def test_the_turnout_json_follows_ballots_and_sessions(app, web, login_as, english):
    event_id, category_id, ids = voting_event(app)
    email = new_organizer(app)
    organizer = organizer_client(app, email)

    def status():
        response = organizer.client.get(status_url(event_id))
        assert response.headers["Cache-Control"] == "no-store"
        return response.get_json()

    before = status()
    assert before["turnout"][str(category_id)]["total"] == 0
    login_as("resident")
    receipt_from(cast_online(web, category_id, ids[:1]))
    after = status()
    row = after["turnout"][str(category_id)]
    assert row["resident"] == {"online": 1, "onsite": 0, "paper": 0, "total": 1} and row["total"] == 1
    assert row["official"]["total"] == 0
    assert turnout_cells(panel(organizer, event_id), category_id)[("resident", "online")] == 1
    # An on-site session opened from the panel, with a countdown, shows in the JSON.
    [opening] = forms_to(panel(organizer, event_id), f"/manage/categories/{category_id}/onsite/open")
    opening["inputs"] = [(n, "30" if n == "minutes" else v, k) for n, v, k in opening["inputs"]]
    assert location(submit(organizer.client, opening)) == panel_url(event_id)
    session = status()["sessions"][str(category_id)]
    assert session is not None and session["opened_at"] and session["closes_at"]
    assert 30 * 60 - 60 <= session["seconds_left"] <= 30 * 60
    others = [key for key in status()["sessions"] if key != str(category_id)]
    assert others and all(status()["sessions"][key] is None for key in others)


@pytest.mark.parametrize("role", ["resident", "official", "judge"])
def test_only_organizers_use_the_panel(app, shared, login_as, web, role):
    login_as(role)
    for url in (panel_url(shared.open_hand.event_id), status_url(shared.open_hand.event_id)):
        assert web.client.get(url).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in_and_unknown_events_are_404(app, shared):
    anonymous = app.test_client()
    for url in (panel_url(shared.open_hand.event_id), status_url(shared.open_hand.event_id)):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    web = organizer_client(app, shared.open_hand.organizer_email)
    assert web.client.get(panel_url(999999)).status_code == 404
    assert web.client.get(status_url(999999)).status_code == 404


def test_the_event_page_links_the_panel(app, shared, english):
    web = organizer_client(app, shared.open_hand.organizer_email)
    html = web.client.get(f"/manage/events/{shared.open_hand.event_id}").get_data(as_text=True)
    assert f'href="{panel_url(shared.open_hand.event_id)}" id="day-panel-link"' in html


# ---------------------------------------------------------------- on-site sessions from the panel


def test_onsite_voting_opens_and_closes_from_the_panel(app, english):
    event_id, category_id, _ids = voting_event(app)
    web = organizer_client(app, new_organizer(app))
    form, button = form_with_button(panel(web, event_id), button_class="open-onsite")
    assert form["attrs"]["action"] == f"/manage/categories/{category_id}/onsite/open"
    assert location(submit(web.client, form, button)) == panel_url(event_id)
    html = panel(web, event_id)
    assert "On-site voting for 협치 우수사례 is open." in html
    assert f'data-category="{category_id}" data-session-open="true"' in html
    assert "Open since" in html
    assert forms_to(html, f"/manage/categories/{category_id}/onsite/open") == []
    form, button = form_with_button(html, button_class="close-onsite")
    assert form["attrs"]["action"] == f"/manage/categories/{category_id}/onsite/close"
    assert field(form, "next") == panel_url(event_id)
    assert location(submit(web.client, form, button)) == panel_url(event_id)
    html = panel(web, event_id)
    assert "On-site voting for 협치 우수사례 is closed." in html
    assert f'data-category="{category_id}" data-session-open="false"' in html
    assert len(forms_to(html, f"/manage/categories/{category_id}/onsite/open")) == 1
    # A countdown out of range is refused, and the panel says why.
    form, button = form_with_button(html, button_class="open-onsite")
    form["inputs"] = [(n, "999" if n == "minutes" else v, k) for n, v, k in form["inputs"]]
    assert location(submit(web.client, form, button)) == panel_url(event_id)
    html = panel(web, event_id)
    assert "Enter a number from 1 to 240." in html
    assert f'data-category="{category_id}" data-session-open="false"' in html


# ---------------------------------------------------------------- a closed event with a tie


def test_a_closed_event_with_a_tie_is_settled_and_frozen_from_the_panel(app, english):
    event_id, category_id, ids, email = tie_event(app)
    web = organizer_client(app, email)
    here = panel_url(event_id)
    html = panel(web, event_id)
    assert 'id="event-state">Closed<' in html
    assert "1 tie across an award boundary must be settled first." in html
    assert f'id="day-tie-{category_id}-{ids[0]}-{ids[1]}"' in html
    [tie_form] = forms_to(html, f"/manage/categories/{category_id}/ties")
    assert field(tie_form, "finalists") == f"{ids[0]},{ids[1]}" and field(tie_form, "next") == here
    assert {(b.get("name"), b.get("value")) for b in tie_form["buttons"]} == {("method", "draw"), ("method", "joint")}
    assert forms_to(html, f"/manage/events/{event_id}/state") == [], "a closed event has no close button"
    assert not any("/onsite/open" in (form["attrs"].get("action") or "") for form in parse(html).forms)
    assert_no_rankings(html)
    assert 'href="/manage/events/%d/results"' % event_id in html

    # Freezing first is refused (after the confirmation), and the panel says why.
    form, button = form_with_button(html, "freeze-button")
    assert field(form, "next") == here
    asked = submit(web.client, form, button)
    assert asked.status_code == 200 and state_of(app, event_id) == EventState.CLOSED
    form, button, cancel = confirmation(asked.get_data(as_text=True))
    assert cancel == here
    assert location(submit(web.client, form, button)) == here
    assert "Resolve these ties across an award boundary first" in panel(web, event_id)
    assert state_of(app, event_id) == EventState.CLOSED

    # The joint award, confirmed, and back to the panel.
    form, button = form_with_button(panel(web, event_id), button_class="joint-button")
    asked = submit(web.client, form, button)
    assert asked.status_code == 200
    with app.app_context():
        assert db.session.scalars(select(TieDecision).where(TieDecision.category_id == category_id)).all() == []
    form, button, cancel = confirmation(asked.get_data(as_text=True))
    assert cancel == here
    assert location(submit(web.client, form, button)) == here
    html = panel(web, event_id)
    assert "The joint award was recorded." in html
    assert 'class="notice tie"' not in html and 'id="ties-to-settle"' not in html

    # Then the freeze goes through.
    form, button = form_with_button(html, "freeze-button")
    form, button, _cancel = confirmation(submit(web.client, form, button).get_data(as_text=True))
    assert location(submit(web.client, form, button)) == here
    assert state_of(app, event_id) == EventState.FROZEN
    html = panel(web, event_id)
    assert "The results are frozen. SHA-256:" in html and 'id="snapshot-sha256"' in html


# ---------------------------------------------------------------- frozen, then published


def test_a_frozen_event_offers_downloads_the_reveal_and_publishing(app, english):
    hand = hand_made_event(app)
    sha = freeze(app, hand.event_id, hand.organizer_id)
    web = organizer_client(app, hand.organizer_email)
    here = panel_url(hand.event_id)
    html = panel(web, hand.event_id)
    assert 'id="event-state">Results frozen<' in html
    assert f'<code id="snapshot-sha256">{sha}</code>' in html
    assert re.search(rf'id="reveal-link" href="/manage/events/{hand.event_id}/reveal"', html)
    links = {a.get("id"): a["href"] for a in parse(html).links if a.get("id", "").startswith("download-")}
    assert links == {
        "download-zip": f"/manage/events/{hand.event_id}/exports.zip",
        "download-xlsx": f"/manage/events/{hand.event_id}/exports/xlsx",
        "download-pdf": f"/manage/events/{hand.event_id}/exports/pdf",
        "download-certificates": f"/manage/events/{hand.event_id}/exports/certificates",
        "download-csv": f"/manage/events/{hand.event_id}/exports/csv",
        "download-bundle": f"/manage/events/{hand.event_id}/exports/bundle",
    }
    for name in ("download-csv", "download-bundle"):
        assert web.client.get(links[name]).status_code == 200
    assert web.client.get(f"/manage/events/{hand.event_id}/reveal").status_code == 200
    # Nothing that could change the results is offered any more.
    for absent in ("/onsite/open", "/onsite/close", "/paper/", "/state", "/results/freeze", "/ties"):
        assert absent not in html, absent
    assert_no_rankings(html, hand_titles(app, hand))

    form, button = form_with_button(html, "publish-button")
    assert form["attrs"]["action"] == f"/manage/events/{hand.event_id}/results/publish"
    assert field(form, "next") == here
    asked = submit(web.client, form, button)
    assert asked.status_code == 200 and state_of(app, hand.event_id) == EventState.FROZEN
    form, button, cancel = confirmation(asked.get_data(as_text=True))
    assert cancel == here
    assert location(submit(web.client, form, button)) == here
    assert state_of(app, hand.event_id) == EventState.PUBLISHED

    html = panel(web, hand.event_id)
    assert 'id="event-state">Results published<' in html
    assert "The results are published for everyone." in html
    assert 'id="published"' in html and "Published on " in html
    assert 'id="publish-button"' not in html and 'id="freeze-button"' not in html
    assert 'id="downloads"' in html and 'id="reveal-link"' in html
    assert app.test_client().get(f"/events/{hand.event_id}/results").status_code == 200


# ---------------------------------------------------------------- the whole day, through the panel only


def test_a_whole_award_day_through_the_panel(app, login_as, english):
    event_id, category_id, (x, y, z) = voting_event(app)
    with app.app_context():
        event = db.session.get(Event, event_id)
        organizer = factories.user("organizer")
        _batch, (code,) = ballots.create_code_batch(event, "resident", 1, "접수대", organizer)
        db.session.commit()
        organizer_email = organizer.email
    web = organizer_client(app, organizer_email)
    here = panel_url(event_id)

    # 1. On-site voting opens from the panel.
    form, button = form_with_button(panel(web, event_id), button_class="open-onsite")
    assert form["attrs"]["action"] == f"/manage/categories/{category_id}/onsite/open"
    assert location(submit(web.client, form, button)) == here

    # 2. A card at the venue votes for Y; a resident online votes for X.
    phone = app.test_client()
    start = phone.get(f"/onsite/{event_id}?code={code}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', start).group(1)
    assert phone.post(f"/onsite/{event_id}", data={"csrf_token": token, "code": code}).status_code == 302
    ballot_page = phone.get(f"/onsite/{event_id}/categories/{category_id}")
    assert ballot_page.status_code == 200
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', ballot_page.get_data(as_text=True)).group(1)
    cast = phone.post(f"/onsite/{event_id}/categories/{category_id}/cast",
                      data={"csrf_token": token, "approvals": [str(y)], "action": "cast"}, follow_redirects=True)
    assert 'id="receipt-code"' in cast.get_data(as_text=True)
    resident = Browserless(app.test_client())
    with app.app_context():
        voter = factories.user("resident")
        db.session.commit()
        voter_email = voter.email
    resident.login(voter_email)
    receipt_from(cast_online(resident, category_id, [x]))

    # 3. Paper totals through the panel's link: 2 paper ballots, X 1, Y 1.
    [link] = [a["href"] for a in parse(panel(web, event_id)).links
              if a.get("href", "").startswith(f"/manage/categories/{category_id}/paper/resident")]
    form_page = web.client.get(link).get_data(as_text=True)
    [paper_form] = [f for f in parse(form_page).forms if any(n == "ballots" for n, _v, _k in f["inputs"])]
    values = {"ballots": "2", f"count_{x}": "1", f"count_{y}": "1", f"count_{z}": "0"}
    paper_form["inputs"] = [(n, values.get(n, v), k) for n, v, k in paper_form["inputs"]]
    paper_form["attrs"]["action"] = paper_form["attrs"].get("action") or link  # the form posts to its own page
    assert location(submit(web.client, paper_form)) == here
    html = panel(web, event_id)
    assert turnout_cells(html, category_id) == {
        ("resident", "online"): 1, ("resident", "onsite"): 1, ("resident", "paper"): 2, ("resident", "total"): 4,
        ("official", "online"): 0, ("official", "onsite"): 0, ("official", "paper"): 0, ("official", "total"): 0,
        "total": 4}
    assert turnout_cells(html, category_id) == expected_cells(app, event_id, category_id)
    assert_no_rankings(html)

    # 4. On-site voting closes, then the event.
    form, button = form_with_button(html, button_class="close-onsite")
    assert location(submit(web.client, form, button)) == here
    form, button = form_with_button(panel(web, event_id), "close-button")
    assert location(submit(web.client, form, button)) == here
    assert state_of(app, event_id) == EventState.CLOSED

    # 5. X and Y are tied across 대상 / 우수상: a recorded draw settles it.
    html = panel(web, event_id)
    assert 'id="event-state">Closed<' in html and "1 tie across an award boundary must be settled first." in html
    assert_no_rankings(html)
    form, button = form_with_button(html, button_class="draw-button")
    assert field(form, "finalists") == f"{min(x, y)},{max(x, y)}"
    form, button, _cancel = confirmation(submit(web.client, form, button).get_data(as_text=True))
    assert location(submit(web.client, form, button)) == here
    assert "The draw was recorded with seed" in panel(web, event_id)
    with app.app_context():
        decision = db.session.scalar(select(TieDecision).where(TieDecision.category_id == category_id))
        winner, runner_up = (int(i) for i in decision.drawn_order.split(","))
    assert {winner, runner_up} == {x, y}

    # 6. Freeze, then publish, each confirmed and back to the panel.
    form, button = form_with_button(panel(web, event_id), "freeze-button")
    form, button, _cancel = confirmation(submit(web.client, form, button).get_data(as_text=True))
    assert location(submit(web.client, form, button)) == here
    assert state_of(app, event_id) == EventState.FROZEN
    form, button = form_with_button(panel(web, event_id), "publish-button")
    form, button, _cancel = confirmation(submit(web.client, form, button).get_data(as_text=True))
    assert location(submit(web.client, form, button)) == here
    assert state_of(app, event_id) == EventState.PUBLISHED
    assert 'id="published"' in panel(web, event_id)

    # 7. Everyone sees the awards.
    with app.app_context():
        from voting.nominations.models import Nomination

        title = {i: db.session.get(Nomination, i).title for i in (x, y, z)}
        assert db.session.scalar(select(ResultSnapshot.published_at).where(ResultSnapshot.event_id == event_id))
    public = app.test_client()
    page = public.get(f"/events/{event_id}/results").get_data(as_text=True)
    winners = re.search(rf'id="winners-{category_id}">(.*?)</ul>', page, re.S).group(1)
    lines = [html_module.unescape(re.sub(r"<[^>]+>", "", item)).strip()
             for item in re.findall(r"<li>(.*?)</li>", winners, re.S)]
    assert [line.split(" · ")[:2] for line in lines] == [
        ["대상", title[winner]], ["우수상", title[runner_up]], ["우수상", title[z]]]
    archive = public.get("/archive").get_data(as_text=True)
    assert f'id="archive-{event_id}"' in archive


def test_a_draft_event_is_sent_to_be_opened_first(app, make_event, english):
    event = make_event(state="draft", phase="voting")
    web = organizer_client(app, new_organizer(app))
    html = panel(web, event.id)
    assert "This event is a draft. Open it first." in html
    for absent in ("/onsite/open", "/state", "/results/freeze", "/results/publish", 'id="downloads"'):
        assert absent not in html, absent
    status = web.client.get(status_url(event.id)).get_json()
    assert all(row["total"] == 0 for row in status["turnout"].values())
