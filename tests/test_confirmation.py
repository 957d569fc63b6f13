"""The confirmation step of the actions that cannot be undone, and ``next`` after organizer actions.

Freezing, publishing and settling a tie answer a POST without ``confirmed=yes`` with a page that
asks (voting/confirmation.py, templates/confirm_action.html) and change nothing; the page's own
form, submitted as it is, does the action. After acting, these routes and the on-site, paper and
event-state routes go back to the form's ``next`` when it is a same-site path
(voting/navigation.py), never to another site.
"""
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests.conftest import app_on_empty_tables, database_rows
from tests.results_helpers import freeze, hand_made_event, tie_event
from tests.voting_helpers import voting_event
from voting.ballots.models import OnsiteSession, PaperTotal
from voting.events.models import Event, EventState
from voting.extensions import db
from voting.results.models import ResultSnapshot, TieDecision

UNSAFE_NEXT = (
    "//evil.example",
    "//evil.example/manage",
    "https://evil.example",
    "http://evil.example/path",
    "https:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "/\t/evil.example",
    "///evil.example",
    "evil.example",
)


@pytest.fixture(scope="module")
def app(migrated_database, smtp_server):
    """One app for the module; every test builds its own event, so none needs the tables emptied
    (and "changes nothing" is checked over every row of every table all the same)."""
    yield from app_on_empty_tables(migrated_database, smtp_server)


# ---------------------------------------------------------------- helpers (also used by test_dayof.py)


class FormParser(HTMLParser):
    """Every <form> of a page: its attributes, inputs (name, value, type) and buttons; plus every link."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.links = []
        self._form = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {"attrs": attrs, "inputs": [], "buttons": []}
            self.forms.append(self._form)
        elif tag == "a":
            self.links.append(attrs)
            if self._form is not None:
                self._form.setdefault("links", []).append(attrs)
        elif self._form is not None and tag == "input":
            self._form["inputs"].append((attrs.get("name"), attrs.get("value") or "", attrs.get("type")))
        elif self._form is not None and tag == "button":
            self._form["buttons"].append(attrs)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def parse(html):
    parser = FormParser()
    parser.feed(html)
    return parser


def form_with_button(html, button_id=None, button_class=None):
    """The form holding the button of that id (or class)."""
    for form in parse(html).forms:
        for button in form["buttons"]:
            if button_id and button.get("id") == button_id:
                return form, button
            if button_class and button_class in (button.get("class") or "").split():
                return form, button
    raise AssertionError(f"no form with button {button_id or button_class}")


def submit(client, form, button=None):
    """Posts a parsed form as a browser would, with the clicked button's name=value."""
    data = {}
    for name, value, _type in form["inputs"]:
        if name:
            data.setdefault(name, []).append(value)
    if button is not None and button.get("name"):
        data.setdefault(button["name"], []).append(button.get("value") or "")
    return client.post(form["attrs"]["action"], data=data)


def confirmation(html):
    """(the confirmation form, its confirm button, its cancel link's href) of a confirmation page."""
    assert 'id="confirm-action"' in html, html[:2000]
    form, button = form_with_button(html, "confirm-button")
    cancel = [link for link in form.get("links", []) if link.get("id") == "cancel-button"]
    assert len(cancel) == 1, "one cancel link in the confirmation form"
    return form, button, cancel[0]["href"]


def hidden_fields(form):
    return sorted((name, value) for name, value, kind in form["inputs"] if kind == "hidden" and name != "csrf_token")


def location(response):
    """The redirect target as a path (the test client's host stripped), and that it is this site."""
    assert response.status_code == 302, response.status_code
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc in ("", "localhost"), response.headers["Location"]
    assert parts.scheme in ("", "http"), response.headers["Location"]
    return parts.path + (f"?{parts.query}" if parts.query else "")


def assert_same_site(href):
    """A link that stays on this site: a path, never //host, a scheme or a backslash trick."""
    parts = urlsplit(href)
    assert href.startswith("/") and not href.startswith("//"), href
    assert not parts.scheme and not parts.netloc and "\\" not in href, href
    assert "evil" not in href, href



def event_state(app, event_id):
    with app.app_context():
        return db.session.get(Event, event_id).state


def snapshot_row(app, event_id):
    with app.app_context():
        row = db.session.execute(select(ResultSnapshot.sha256, ResultSnapshot.published_at)
                                 .where(ResultSnapshot.event_id == event_id)).first()
        return None if row is None else tuple(row)


def tie_decisions(app, category_id):
    with app.app_context():
        return [(d.finalists, d.method.value) for d in
                db.session.scalars(select(TieDecision).where(TieDecision.category_id == category_id))]


def panel_url(event_id):
    return f"/manage/events/{event_id}/day"


# ---------------------------------------------------------------- freezing


def test_freeze_without_confirmation_asks_and_changes_nothing_then_the_confirm_button_freezes(app, web, english):
    hand = hand_made_event(app)
    web.login(hand.organizer_email)
    url = f"/manage/events/{hand.event_id}/results/freeze"
    before = database_rows(app)
    response = web.post(url, {"next": panel_url(hand.event_id)}, form_url=f"/manage/events/{hand.event_id}/results")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert database_rows(app) == before, "asking changed the database"
    assert event_state(app, hand.event_id) == EventState.CLOSED and snapshot_row(app, hand.event_id) is None
    form, button, cancel = confirmation(html)
    assert form["attrs"]["method"] == "post" and form["attrs"]["action"] == url
    assert hidden_fields(form) == [("next", panel_url(hand.event_id))]
    assert any(name == "csrf_token" and value for name, value, _ in form["inputs"])
    assert (button.get("name"), button.get("value"), button.get("type")) == ("confirmed", "yes", "submit")
    assert cancel == panel_url(hand.event_id)
    assert "Freeze the results of " in html and "This cannot be undone." in html
    assert "Yes, freeze the results" in html

    response = submit(web.client, form, button)
    assert location(response) == panel_url(hand.event_id)
    assert event_state(app, hand.event_id) == EventState.FROZEN
    assert snapshot_row(app, hand.event_id) is not None


def test_freeze_confirmation_cancels_to_the_results_preview_without_next(app, web, english):
    hand = hand_made_event(app)
    web.login(hand.organizer_email)
    response = web.post(f"/manage/events/{hand.event_id}/results/freeze", form_url="/")
    _form, _button, cancel = confirmation(response.get_data(as_text=True))
    assert cancel == f"/manage/events/{hand.event_id}/results"
    assert snapshot_row(app, hand.event_id) is None
    # Confirmed without next: back to the preview, frozen.
    response = web.post(f"/manage/events/{hand.event_id}/results/freeze", {"confirmed": "yes"}, form_url="/")
    assert location(response) == f"/manage/events/{hand.event_id}/results"
    assert event_state(app, hand.event_id) == EventState.FROZEN


@pytest.mark.parametrize("answer", ["", "no", "YES", "true", "1"])
def test_only_confirmed_yes_counts_as_a_confirmation(app, web, answer):
    hand = hand_made_event(app)
    web.login(hand.organizer_email)
    before = database_rows(app)
    response = web.post(f"/manage/events/{hand.event_id}/results/freeze", {"confirmed": answer}, form_url="/")
    assert response.status_code == 200 and 'id="confirm-action"' in response.get_data(as_text=True)
    assert database_rows(app) == before


# ---------------------------------------------------------------- publishing


def test_publish_without_confirmation_asks_and_changes_nothing_then_publishes_and_returns(app, web, english):
    hand = hand_made_event(app)
    sha = freeze(app, hand.event_id, hand.organizer_id)
    web.login(hand.organizer_email)
    url = f"/manage/events/{hand.event_id}/results/publish"
    before = database_rows(app)
    response = web.post(url, {"next": panel_url(hand.event_id)}, form_url="/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert database_rows(app) == before
    assert snapshot_row(app, hand.event_id) == (sha, None) and event_state(app, hand.event_id) == EventState.FROZEN
    form, button, cancel = confirmation(html)
    assert form["attrs"]["action"] == url
    assert hidden_fields(form) == [("next", panel_url(hand.event_id))]
    assert cancel == panel_url(hand.event_id)
    assert "Publish the results of " in html and "Yes, publish the results" in html

    response = submit(web.client, form, button)
    assert location(response) == panel_url(hand.event_id)
    assert event_state(app, hand.event_id) == EventState.PUBLISHED
    assert snapshot_row(app, hand.event_id)[1] is not None


def test_publish_confirmed_without_next_opens_the_public_results(app, web, english):
    hand = hand_made_event(app)
    freeze(app, hand.event_id, hand.organizer_id)
    web.login(hand.organizer_email)
    response = web.post(f"/manage/events/{hand.event_id}/results/publish", form_url="/")
    _form, _button, cancel = confirmation(response.get_data(as_text=True))
    assert cancel == f"/manage/events/{hand.event_id}/results"
    response = web.post(f"/manage/events/{hand.event_id}/results/publish", {"confirmed": "yes"}, form_url="/")
    assert location(response) == f"/events/{hand.event_id}/results"
    assert event_state(app, hand.event_id) == EventState.PUBLISHED


def test_an_anonymous_visitor_cannot_see_unpublished_results_while_the_confirmation_is_pending(app, web, client):
    hand = hand_made_event(app)
    freeze(app, hand.event_id, hand.organizer_id)
    web.login(hand.organizer_email)
    assert web.post(f"/manage/events/{hand.event_id}/results/publish", form_url="/").status_code == 200
    anonymous = app.test_client()
    assert anonymous.get(f"/events/{hand.event_id}/results").status_code == 404
    assert anonymous.get(f"/events/{hand.event_id}/results/bundle.json").status_code == 404


# ---------------------------------------------------------------- ties


def test_a_tie_decision_without_confirmation_asks_and_changes_nothing_then_is_recorded(app, web, english):
    event_id, category_id, ids, email = tie_event(app)
    web.login(email)
    url = f"/manage/categories/{category_id}/ties"
    finalists = f"{ids[0]},{ids[1]}"
    before = database_rows(app)
    response = web.post(url, {"finalists": finalists, "method": "joint", "next": panel_url(event_id)}, form_url="/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert database_rows(app) == before
    assert tie_decisions(app, category_id) == []
    form, button, cancel = confirmation(html)
    assert form["attrs"]["action"] == url
    assert hidden_fields(form) == sorted([("finalists", finalists), ("method", "joint"), ("next", panel_url(event_id))])
    assert cancel == panel_url(event_id)
    assert "Settle the tie in 협치 우수사례" in html
    assert "Tied: 마을 공유부엌, 골목 정원." in html
    assert "Yes, make it a joint award" in html

    response = submit(web.client, form, button)
    assert location(response) == panel_url(event_id)
    assert tie_decisions(app, category_id) == [(finalists, "joint")]


def test_a_draw_asks_with_its_own_words_and_cancels_to_the_category_preview(app, web, english):
    event_id, category_id, ids, email = tie_event(app)
    web.login(email)
    url = f"/manage/categories/{category_id}/ties"
    response = web.post(url, {"finalists": f"{ids[0]},{ids[1]}", "method": "draw"}, form_url="/")
    html = response.get_data(as_text=True)
    form, button, cancel = confirmation(html)
    assert cancel == f"/manage/categories/{category_id}/results"
    assert "Yes, make the draw" in html and "random seed" in html
    assert tie_decisions(app, category_id) == []
    response = submit(web.client, form, button)
    assert location(response) == f"/manage/categories/{category_id}/results"
    assert tie_decisions(app, category_id) == [(f"{ids[0]},{ids[1]}", "draw")]
    # Now the event freezes through the same two steps.
    response = web.post(f"/manage/events/{event_id}/results/freeze", form_url="/")
    assert response.status_code == 200 and event_state(app, event_id) == EventState.CLOSED
    form, button, _cancel = confirmation(response.get_data(as_text=True))
    submit(web.client, form, button)
    assert event_state(app, event_id) == EventState.FROZEN


def test_an_invalid_tie_form_is_not_asked_about(app, web, english):
    _event_id, category_id, ids, email = tie_event(app)
    web.login(email)
    response = web.post(f"/manage/categories/{category_id}/ties", {"finalists": "abc", "method": "joint"}, form_url="/")
    assert response.status_code == 302 and tie_decisions(app, category_id) == []


# ---------------------------------------------------------------- who may ask, CSRF


@pytest.mark.parametrize("role", ["resident", "official", "judge"])
def test_other_roles_get_403_not_a_confirmation_page(app, web, login_as, role):
    hand = hand_made_event(app)
    login_as(role)
    before = database_rows(app)
    for url, data in ((f"/manage/events/{hand.event_id}/results/freeze", {}),
                      (f"/manage/events/{hand.event_id}/results/publish", {}),
                      (f"/manage/categories/{hand.category_id}/ties",
                       {"finalists": ",".join(map(str, hand.ids("A", "B"))), "method": "joint"})):
        response = web.post(url, data, form_url="/")
        assert response.status_code == 403, url
        assert 'id="confirm-action"' not in response.get_data(as_text=True)
    assert database_rows(app) == before


def test_a_post_without_a_csrf_token_is_neither_asked_nor_done(app, web):
    hand = hand_made_event(app)
    web.login(hand.organizer_email)
    for data in ({}, {"confirmed": "yes"}):
        response = web.client.post(f"/manage/events/{hand.event_id}/results/freeze", data=data)
        assert response.status_code == 400
        assert 'id="confirm-action"' not in response.get_data(as_text=True)
    assert event_state(app, hand.event_id) == EventState.CLOSED


# ---------------------------------------------------------------- next: only same-site paths


def test_the_cancel_link_never_leads_to_another_site(app, web):
    hand = hand_made_event(app)
    web.login(hand.organizer_email)
    before = database_rows(app)
    for target in UNSAFE_NEXT:
        for url, data in ((f"/manage/events/{hand.event_id}/results/freeze", {}),
                          (f"/manage/categories/{hand.category_id}/ties",
                           {"finalists": ",".join(map(str, hand.ids("A", "B"))), "method": "joint"})):
            response = web.post(url, {**data, "next": target}, form_url="/")
            assert response.status_code == 200, (url, target)
            _form, _button, cancel = confirmation(response.get_data(as_text=True))
            assert_same_site(cancel)
    assert database_rows(app) == before


def test_a_next_with_markup_is_escaped_in_the_hidden_field_and_the_cancel_link(app, web):
    hand = hand_made_event(app)
    web.login(hand.organizer_email)
    target = '/manage/x"><script>alert(1)</script>'
    response = web.post(f"/manage/events/{hand.event_id}/results/freeze", {"next": target}, form_url="/")
    html = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    form, _button, cancel = confirmation(html)
    assert hidden_fields(form) == [("next", target)] and cancel == target


def test_freezing_with_an_external_next_stays_on_the_site(app, web):
    hand = hand_made_event(app)
    web.login(hand.organizer_email)
    response = web.post(f"/manage/events/{hand.event_id}/results/freeze",
                        {"confirmed": "yes", "next": "//evil.example/day"}, form_url="/")
    assert location(response) == f"/manage/events/{hand.event_id}/results"
    assert event_state(app, hand.event_id) == EventState.FROZEN
    response = web.post(f"/manage/events/{hand.event_id}/results/publish",
                        {"confirmed": "yes", "next": "https://evil.example/"}, form_url="/")
    assert location(response) == f"/events/{hand.event_id}/results"
    assert event_state(app, hand.event_id) == EventState.PUBLISHED


def test_a_tie_decision_with_an_external_next_stays_on_the_site(app, web):
    _event_id, category_id, ids, email = tie_event(app)
    web.login(email)
    response = web.post(f"/manage/categories/{category_id}/ties",
                        {"finalists": f"{ids[0]},{ids[1]}", "method": "joint", "confirmed": "yes",
                         "next": "https://evil.example/"}, form_url="/")
    assert location(response) == f"/manage/categories/{category_id}/results"
    assert len(tie_decisions(app, category_id)) == 1


def test_the_event_state_form_honours_a_safe_next_only(app, web, make_user, english):
    event_id, _category_id, _ids = voting_event(app)
    organizer = make_user("organizer")
    web.login(organizer.email)
    url = f"/manage/events/{event_id}/state"
    response = web.post(url, {"state": "closed", "next": panel_url(event_id)}, form_url="/")
    assert location(response) == panel_url(event_id)
    assert event_state(app, event_id) == EventState.CLOSED
    for target, state in zip(UNSAFE_NEXT, ["open", "closed"] * len(UNSAFE_NEXT)):
        response = web.post(url, {"state": state, "next": target}, form_url="/")
        assert location(response) == f"/manage/events/{event_id}", target
        assert event_state(app, event_id) == EventState(state)
    response = web.post(url, {"state": "open"}, form_url="/")
    assert location(response) == f"/manage/events/{event_id}"


def test_onsite_open_and_close_honour_next(app, web, make_user, english):
    event_id, category_id, _ids = voting_event(app)
    organizer = make_user("organizer")
    web.login(organizer.email)

    def open_sessions():
        with app.app_context():
            return len(db.session.scalars(select(OnsiteSession).where(
                OnsiteSession.category_id == category_id, OnsiteSession.closed_at.is_(None))).all())

    opened = web.post(f"/manage/categories/{category_id}/onsite/open", {"minutes": "", "next": panel_url(event_id)},
                      form_url=f"/manage/events/{event_id}/onsite")
    assert location(opened) == panel_url(event_id) and open_sessions() == 1
    closed = web.post(f"/manage/categories/{category_id}/onsite/close", {"next": panel_url(event_id)},
                      form_url=f"/manage/events/{event_id}/onsite")
    assert location(closed) == panel_url(event_id) and open_sessions() == 0
    # Without next, or with one to another site: the on-site page.
    for target in (None, "//evil.example", "https://evil.example/x"):
        data = {} if target is None else {"next": target}
        opened = web.post(f"/manage/categories/{category_id}/onsite/open", {"minutes": "10", **data}, form_url="/")
        assert location(opened) == f"/manage/events/{event_id}/onsite" and open_sessions() == 1
        closed = web.post(f"/manage/categories/{category_id}/onsite/close", data, form_url="/")
        assert location(closed) == f"/manage/events/{event_id}/onsite" and open_sessions() == 0
    # A refused action goes back to next too (the flash tells why).
    refused = web.post(f"/manage/categories/{category_id}/onsite/close", {"next": panel_url(event_id)}, form_url="/")
    assert location(refused) == panel_url(event_id)
    page = web.client.get(panel_url(event_id)).get_data(as_text=True)
    assert "On-site voting for this category is not open." in page


def test_paper_totals_go_back_to_next_from_the_query_string(app, web, make_user, english):
    event_id, category_id, ids = voting_event(app)
    organizer = make_user("organizer")
    web.login(organizer.email)

    def totals():
        with app.app_context():
            total = db.session.scalar(select(PaperTotal).where(PaperTotal.category_id == category_id))
            return None if total is None else (total.ballots, {a.nomination_id: a.count for a in total.approvals})

    url = f"/manage/categories/{category_id}/paper/resident?next={panel_url(event_id)}"
    form_page = web.client.get(url)
    assert form_page.status_code == 200
    data = {"ballots": "5", f"count_{ids[0]}": "4", f"count_{ids[1]}": "2", f"count_{ids[2]}": "0"}
    response = web.post(url, data)
    assert location(response) == panel_url(event_id)
    assert totals() == (5, {ids[0]: 4, ids[1]: 2, ids[2]: 0})
    # next in the form works too; without next: the turnout page; another site: the turnout page.
    plain = f"/manage/categories/{category_id}/paper/resident"
    response = web.post(plain, {**data, "ballots": "6", "next": panel_url(event_id)})
    assert location(response) == panel_url(event_id) and totals()[0] == 6
    response = web.post(plain, {**data, "ballots": "7"})
    assert location(response) == f"/manage/events/{event_id}/turnout" and totals()[0] == 7
    response = web.post(plain + "?next=//evil.example", {**data, "ballots": "8"}, form_url=plain)
    assert location(response) == f"/manage/events/{event_id}/turnout" and totals()[0] == 8
    # Invalid totals: the form again (400), no redirect, nothing saved.
    response = web.post(url, {**data, "ballots": "1"}, form_url=plain)
    assert response.status_code == 400 and totals()[0] == 8


def test_a_next_in_the_query_string_survives_the_confirmation(app, web):
    hand = hand_made_event(app)
    web.login(hand.organizer_email)
    url = f"/manage/events/{hand.event_id}/results/freeze?next={panel_url(hand.event_id)}"
    response = web.post(url, form_url="/")
    form, button, cancel = confirmation(response.get_data(as_text=True))
    assert cancel == panel_url(hand.event_id)
    assert location(submit(web.client, form, button)) == panel_url(hand.event_id)
