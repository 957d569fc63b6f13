"""Personal links: sending by SMS and mail in the background, the progress page, opening a link
once, voting with it, and its collisions with the same person's card and account.

Roll entries are made by tests/elector_factories.roll_entry (the import is the roll area's).
"""
import re
import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import String, Text, func, select

from voting.audit.models import AuditEntry
from voting.ballots.models import Ballot, OnsiteSession, Participation
from voting.database import utcnow
from voting.electors import links
from voting.electors.models import DeliveryState, LinkChannel, LinkDispatch, PersonalLink
from voting.events.models import Event, EventState
from voting.extensions import db

from tests import elector_factories, factories
from tests.conftest import Browserless, app_on_empty_tables, database_rows
from tests.http import Session
from tests.sms_helpers import Gateway, WEBHOOK_SECRET, e164
from tests.voting_helpers import receipt_from

TOKEN_IN_TEXT = re.compile(r"/vote/link/([A-Za-z0-9_-]{43})")
CARD = "LINK-2TES-T01"
PEOPLE = (
    # name, phone, email
    ("김영희", "010-2345-6789", "younghee@test.example"),
    ("이철수", "010-3456-7890", None),
    ("박민지", "010-4567-8901", "minji@test.example"),
)


@pytest.fixture(autouse=True)
def _delivery_threads_end():
    """No delivery thread of a test outlives it (the next test empties the tables)."""
    yield
    links.wait_for_workers(30)
    assert not links.running_workers()


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def make_roll_event(app, *, phase="voting", eligibility="roll", state="open", people=PEOPLE, card_code=CARD):
    """A roll-mode event in its voting window (on-site voting open in its first category), two
    finalists, a roll of ``people``, a printed card; returns the ids."""
    with app.app_context():
        event = factories.event(phase=phase, eligibility=eligibility, state=state)
        organizer = factories.user("organizer")
        nominator = factories.user("resident")
        finalists = [factories.nomination(event.id, nominator_id=nominator.id, state="finalist", title=f"본선 {i}").id
                     for i in range(2)]
        category_id = event.categories[0].id
        db.session.add(OnsiteSession(category_id=category_id, opened_at=utcnow()))
        card = elector_factories.card(event.id, organizer.id, card_code)
        entries = []
        for name, phone, email in people:
            entry, elector = elector_factories.roll_entry(event.id, name, phone, email=email)
            entries.append(SimpleNamespace(id=entry.id, elector_id=elector.id, name=name, phone=phone, email=email))
        db.session.commit()
        return SimpleNamespace(id=event.id, category=category_id, finalists=finalists, card_id=card.id,
                               organizer=factories.Snapshot.of(organizer), entries=entries)


@pytest.fixture
def roll_event(app):
    return make_roll_event(app)


@pytest.fixture
def organizer(app, roll_event):
    web = Browserless(app.test_client())
    web.post("/language", {"lang": "en", "next": "/"}, form_url="/")
    assert web.login(roll_event.organizer.email).status_code == 302
    return web


def send_links(web, event_id, channel="sms", scope="unsent", entry_ids=()):
    return web.post(f"/manage/events/{event_id}/links/send",
                    {"channel": channel, "scope": scope, "entry_ids": [str(i) for i in entry_ids]},
                    form_url=f"/manage/events/{event_id}/links")


def dispatch_id_of(response):
    match = re.search(r"/links/dispatches/(\d+)$", response.headers.get("Location", ""))
    assert match, (response.status_code, response.headers.get("Location"))
    return int(match.group(1))


def status(web, event_id, dispatch_id):
    response = web.client.get(f"/manage/events/{event_id}/links/dispatches/{dispatch_id}/status.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def wait_until_done(web, event_id, dispatch_id):
    links.wait_for_workers(30)
    state = status(web, event_id, dispatch_id)
    assert state["done"], state
    return state


def factories_event_name(app, event_id):
    with app.app_context():
        return db.session.get(Event, event_id).name


def tokens_in(text):
    return TOKEN_IN_TEXT.findall(text)


def link_voter(app, token, english=True):
    """A fresh browser that opens the link (GET, then the button); returns it and the last response."""
    voter = Browserless(app.test_client())
    if english:
        voter.post("/language", {"lang": "en", "next": "/"}, form_url="/")
    response = voter.post(f"/vote/link/{token}", {})
    return voter, response


def vote_with_link(voter, event_id, category_id, finalist):
    base = f"/vote/link/events/{event_id}/categories/{category_id}"
    page = voter.post(base, {"approvals": [str(finalist)]})
    if page.status_code != 200:
        return page
    return voter.post(f"{base}/cast", {"approvals": [str(finalist)], "action": "cast"}, form_url=base,
                      follow_redirects=True)


def cast_with_card(web, event_id, category_id, finalist, code=CARD):
    assert web.post(f"/onsite/{event_id}", {"code": code}).status_code == 302
    page = web.post(f"/onsite/{event_id}/categories/{category_id}", {"approvals": [str(finalist)]})
    if page.status_code != 200:
        return page
    return web.post(f"/onsite/{event_id}/categories/{category_id}/cast",
                    {"approvals": [str(finalist)], "action": "cast"},
                    form_url=f"/onsite/{event_id}/categories/{category_id}", follow_redirects=True)


def sms_tokens(app, web, event, capfd, **send):
    """Sends by SMS through the console backend and returns {national phone: token} as printed."""
    capfd.readouterr()
    response = send_links(web, event.id, "sms", **send)
    dispatch_id = dispatch_id_of(response)
    wait_until_done(web, event.id, dispatch_id)
    printed = capfd.readouterr().err
    found = {}
    for line in printed.splitlines():
        match = re.match(r"\[SMS to ([0-9-]+)\] (.*)", line)
        if match and tokens_in(match.group(2)):
            found[match.group(1)] = tokens_in(match.group(2))[0]
    return found, dispatch_id


# ---------------------------------------------------------------------------
# Sending


def test_sms_to_everyone_not_yet_sent_goes_in_the_background_with_a_progress_page(app, organizer, roll_event, capfd):
    response = send_links(organizer, roll_event.id, "sms")
    assert response.status_code == 302
    dispatch_id = dispatch_id_of(response)
    state = wait_until_done(organizer, roll_event.id, dispatch_id)
    assert state == {"total": 3, "pending": 0, "sent": 3, "failed": 0, "cancelled": 0, "opened": 0,
                     "working": False, "done": True, "stalled": False}
    printed = capfd.readouterr().err
    tokens = tokens_in(printed)
    assert len(set(tokens)) == 3
    for person in roll_event.entries:
        assert f"[SMS to {person.phone}]" in printed
    with app.app_context():
        stored = set(db.session.scalars(select(PersonalLink.token_hash)))
        assert stored == {links.token_hash(t) for t in tokens}  # only the hashes are kept
        sent = db.session.scalars(select(PersonalLink)).all()
        event = db.session.get(Event, roll_event.id)
        assert all(link.state == DeliveryState.SENT and link.attempts == 1 and link.sent_at is not None
                   and link.expires_at == event.vote_closes_at for link in sent)
        audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "links.send")).one()
        assert '"queued":3' in audit.details and '"channel":"sms"' in audit.details

    page = organizer.client.get(f"/manage/events/{roll_event.id}/links/dispatches/{dispatch_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="count-sent">3<' in text and 'id="count-pending">0<' in text and "Finished." in text
    assert "js/link-progress.js" in text and "<script>" not in text  # the CSP forbids inline scripts
    assert f'href="/manage/events/{roll_event.id}/links/dispatches/{dispatch_id}" id="refresh-link"' in text

    # A second "everyone not yet sent" finds no one left.
    again = send_links(organizer, roll_event.id, "sms")
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/manage/events/{roll_event.id}/links")
    assert "has been sent a link already" in organizer.client.get(again.headers["Location"]).get_data(as_text=True)
    assert count(app, LinkDispatch) == 1


def test_mail_goes_only_to_entries_with_an_address(app, organizer, roll_event, mailbox):
    response = send_links(organizer, roll_event.id, "mail")
    dispatch_id = dispatch_id_of(response)
    state = wait_until_done(organizer, roll_event.id, dispatch_id)
    assert state["sent"] == 2 and state["total"] == 2
    page = organizer.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 person on the selection was left out" in page
    for person in roll_event.entries:
        if person.email:
            mail = mailbox.to(person.email)[-1]
            assert mail["Subject"].endswith(": " + factories_event_name(app, roll_event.id))
            body = mail.get_content()
            assert person.name in body
            token = tokens_in(mailbox.last_link(person.email))[0]
            landing = Browserless(app.test_client()).client.get(f"/vote/link/{token}")
            assert landing.status_code == 200 and 'id="open-ballot"' in landing.get_data(as_text=True)
    assert len(mailbox.messages) == 2


def test_mail_is_refused_without_a_mail_server(app, organizer, roll_event):
    app.config["MAIL_SERVER"] = None
    before = database_rows(app)
    response = send_links(organizer, roll_event.id, "mail")
    assert response.status_code == 302
    assert "no mail server is set up" in organizer.client.get(response.headers["Location"]).get_data(as_text=True)
    assert database_rows(app) == before


def test_only_the_ticked_people_are_sent(app, organizer, roll_event, capfd):
    chosen = roll_event.entries[1]
    found, _dispatch = sms_tokens(app, organizer, roll_event, capfd, scope="selected", entry_ids=[chosen.id])
    assert list(found) == [chosen.phone]
    page = organizer.client.get(f"/manage/events/{roll_event.id}/links").get_data(as_text=True)
    assert "2 people on the roll have not been sent a link yet." in page


def test_selected_without_anyone_ticked_is_a_form_error(app, organizer, roll_event):
    before = database_rows(app)
    response = send_links(organizer, roll_event.id, "sms", scope="selected")
    assert response.status_code == 400
    assert "Tick at least one person" in response.get_data(as_text=True)
    assert database_rows(app) == before


def test_entries_of_another_event_are_not_sent(app, organizer, roll_event):
    other = make_roll_event(app, people=[("최다른", "010-5678-9012", None)], card_code="OTHE-R2TE-ST1")
    before = database_rows(app)
    response = send_links(organizer, roll_event.id, "sms", scope="selected", entry_ids=[other.entries[0].id])
    assert response.status_code == 302
    assert "None of the chosen people is on this event" in organizer.client.get(
        response.headers["Location"]).get_data(as_text=True)
    assert database_rows(app) == before


def test_a_failed_sms_is_reported_with_name_and_last_digits_and_can_be_retried(app, organizer, roll_event):
    person = roll_event.entries[0]
    with Gateway() as gateway:
        app.config.update(SMS_BACKEND="webhook", SMS_WEBHOOK_URL=gateway.url + "/sms", SMS_WEBHOOK_SECRET=WEBHOOK_SECRET)
        gateway.status = 500
        response = send_links(organizer, roll_event.id, "sms", scope="selected", entry_ids=[person.id])
        dispatch_id = dispatch_id_of(response)
        state = wait_until_done(organizer, roll_event.id, dispatch_id)
        assert state["failed"] == 1 and state["sent"] == 0
        page = organizer.client.get(response.headers["Location"]).get_data(as_text=True)
        failed_table = page[page.index('id="failed-links"'):]
        assert person.name in failed_table and person.phone[-4:] in failed_table and "answered 500" in failed_table
        assert person.phone not in page and 'id="retry-button"' in page
        with app.app_context():
            link = db.session.scalars(select(PersonalLink)).one()
            assert link.token_hash is None and link.state == DeliveryState.FAILED and link.attempts == 1

        gateway.status = 200
        retried = organizer.post(f"/manage/events/{roll_event.id}/links/dispatches/{dispatch_id}/retry", {},
                                 form_url=response.headers["Location"])
        assert retried.status_code == 302
        state = wait_until_done(organizer, roll_event.id, dispatch_id)
        assert state["sent"] == 1 and state["failed"] == 0
        delivered = gateway.messages()[-1]
        assert delivered["to"] == e164(person.phone)
        token = tokens_in(delivered["text"])[0]
    with app.app_context():
        link = db.session.scalars(select(PersonalLink)).one()
        assert link.attempts == 2 and link.last_error is None and link.token_hash == links.token_hash(token)
        actions = list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert actions == ["links.send", "links.retry"]
    # Nothing is left to retry.
    again = organizer.post(f"/manage/events/{roll_event.id}/links/dispatches/{dispatch_id}/retry", {},
                           form_url=response.headers["Location"])
    assert "No undelivered links are left" in organizer.client.get(again.headers["Location"]).get_data(as_text=True)


def test_an_unreachable_gateway_fails_every_link_and_loses_nothing(app, organizer, roll_event):
    from tests.sms_helpers import unreachable_url

    app.config.update(SMS_BACKEND="webhook", SMS_WEBHOOK_URL=unreachable_url(), SMS_WEBHOOK_SECRET=WEBHOOK_SECRET)
    dispatch_id = dispatch_id_of(send_links(organizer, roll_event.id, "sms"))
    state = wait_until_done(organizer, roll_event.id, dispatch_id)
    assert state["failed"] == 3 and state["total"] == 3
    page = organizer.client.get(f"/manage/events/{roll_event.id}/links/dispatches/{dispatch_id}").get_data(as_text=True)
    assert page.count("could not be reached") == 3


def test_a_sending_whose_thread_died_is_resumed(app, organizer, roll_event, capfd, monkeypatch):
    started = []
    monkeypatch.setattr(links, "start_delivery", lambda dispatch_id, prefix: started.append(dispatch_id))
    response = send_links(organizer, roll_event.id, "sms")  # the process "dies" before its thread runs
    dispatch_id = dispatch_id_of(response)
    assert started == [dispatch_id]
    monkeypatch.undo()
    state = status(organizer, roll_event.id, dispatch_id)
    assert state["pending"] == 3 and state["stalled"] and not state["working"]
    page = organizer.client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="resume-button"' in page and "Sending stopped before the end" in page

    # While a worker holds the sending (another process, say), it is not resumed a second time.
    with app.app_context(), links.work_lock(dispatch_id) as got:
        assert got
        assert status(organizer, roll_event.id, dispatch_id)["working"]
        assert 'id="resume-button"' not in organizer.client.get(response.headers["Location"]).get_data(as_text=True)
        refused = organizer.post(f"/manage/events/{roll_event.id}/links/dispatches/{dispatch_id}/resume", {},
                                 form_url=response.headers["Location"])
        assert "still running" in organizer.client.get(refused.headers["Location"]).get_data(as_text=True)
    assert count(app, PersonalLink, PersonalLink.state == DeliveryState.PENDING) == 3

    capfd.readouterr()
    resumed = organizer.post(f"/manage/events/{roll_event.id}/links/dispatches/{dispatch_id}/resume", {},
                             form_url=response.headers["Location"])
    assert resumed.status_code == 302
    state = wait_until_done(organizer, roll_event.id, dispatch_id)
    assert state["sent"] == 3
    assert len(tokens_in(capfd.readouterr().err)) == 3
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "links.resume")) == 1


def test_two_workers_on_one_sending_send_each_link_once(app, organizer, roll_event, capfd, monkeypatch):
    monkeypatch.setattr(links, "start_delivery", lambda dispatch_id, prefix: None)
    dispatch_id = dispatch_id_of(send_links(organizer, roll_event.id, "sms"))
    monkeypatch.undo()
    capfd.readouterr()
    with app.test_request_context():
        prefix = "http://localhost/vote/link/"
        workers = [threading.Thread(target=links.deliver_dispatch, args=(app, dispatch_id, prefix)) for _i in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
    assert len(tokens_in(capfd.readouterr().err)) == 3
    assert status(organizer, roll_event.id, dispatch_id)["sent"] == 3


# ---------------------------------------------------------------------------
# The link


def test_the_landing_page_does_not_use_the_link_up(app, organizer, roll_event, capfd):
    found, _dispatch = sms_tokens(app, organizer, roll_event, capfd)
    token = found[roll_event.entries[0].phone]
    before = database_rows(app)
    for _preview in range(3):  # a message app's preview, the person's own look, a second look
        page = Browserless(app.test_client()).client.get(f"/vote/link/{token}")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert 'id="open-ballot"' in text and 'method="post"' in text and 'name="csrf_token"' in text
        assert page.headers["Cache-Control"] == "no-store"
    assert database_rows(app) == before


def test_a_link_opens_once_from_any_browser(app, organizer, roll_event, capfd):
    found, _dispatch = sms_tokens(app, organizer, roll_event, capfd)
    person = roll_event.entries[0]
    token = found[person.phone]
    voter, opened = link_voter(app, token)
    assert opened.status_code == 302 and opened.headers["Location"] == f"/vote/link/events/{roll_event.id}"
    with voter.client.session_transaction() as session:
        assert session["personal_link"] == {"event_id": roll_event.id, "elector_id": person.elector_id,
                                            "link_id": session["personal_link"]["link_id"]}
        assert set(session["personal_link"]) == {"event_id", "elector_id", "link_id"}
    overview = voter.client.get(f"/vote/link/events/{roll_event.id}")
    assert overview.status_code == 200 and "voting with your personal link" in overview.get_data(as_text=True)

    # The same browser sees its ballot again from the link; opening again is refused everywhere.
    again_here = voter.client.get(f"/vote/link/{token}")
    assert again_here.status_code == 200 and "Go to my ballot" in again_here.get_data(as_text=True)
    assert voter.post(f"/vote/link/{token}", {}).status_code == 410
    other, refused = link_voter(app, token)
    assert refused.status_code == 410
    text = refused.get_data(as_text=True)
    assert "already used" in text and "ask the organizers to send you a new link" in text
    assert other.client.get(f"/vote/link/{token}").status_code == 410
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "links.open")) == 1


def test_two_simultaneous_openings_give_one_ballot_page(app, organizer, roll_event, capfd, live_server):
    found, _dispatch = sms_tokens(app, organizer, roll_event, capfd)
    token = found[roll_event.entries[0].phone]
    url = f"/vote/link/{token}"
    browsers = [Session(live_server.url) for _i in range(2)]
    forms = [{"csrf_token": browser.token(url)} for browser in browsers]
    barrier = threading.Barrier(2)
    results = [None, None]

    def open_it(i):
        barrier.wait()
        results[i] = browsers[i].post(url, forms[i])

    threads = [threading.Thread(target=open_it, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    statuses = sorted(result[0] for result in results)
    assert statuses == [302, 410], statuses
    winner = browsers[[r[0] for r in results].index(302)]
    assert winner.get(f"/vote/link/events/{roll_event.id}")[0] == 200
    loser = browsers[[r[0] for r in results].index(410)]
    assert loser.get(f"/vote/link/events/{roll_event.id}")[0] == 403


def test_wrong_and_malformed_tokens_are_404_and_never_500(app, english, web):
    for token in ("x" * 43, "short", "a" * 200, "%00%ff", "../../etc", "한글토큰"):
        for response in (web.client.get(f"/vote/link/{token}"), web.post(f"/vote/link/{token}", {}, form_url="/")):
            assert response.status_code == 404, token
    page = web.client.get("/vote/link/" + "x" * 43).get_data(as_text=True)
    assert "There is no such personal link" in page


def test_wrong_tokens_are_limited_per_address_but_good_ones_are_not(migrated_database, smtp_server):
    for app in app_on_empty_tables(migrated_database, smtp_server, CODE_RATE_LIMIT="3 per minute"):
        from voting.extensions import limiter

        limiter.reset()
        event = make_roll_event(app, people=PEOPLE[:1])
        with app.app_context():
            link = PersonalLink(elector_id=event.entries[0].elector_id, channel=LinkChannel.SMS, state=DeliveryState.SENT,
                                token_hash=links.token_hash("g" * 43), expires_at=utcnow() + timedelta(days=1))
            db.session.add(link)
            db.session.commit()
        client = app.test_client()
        for _i in range(5):
            assert client.get("/vote/link/" + "g" * 43).status_code == 200  # good tokens do not count
        assert [client.get("/vote/link/" + "w" * 43).status_code for _i in range(4)] == [404, 404, 404, 429]
        limiter.reset()


def test_voting_before_the_window_does_not_use_the_link(app, english):
    event = make_roll_event(app, phase="nominating")
    with app.app_context():
        record = db.session.get(Event, event.id)
        link = PersonalLink(elector_id=event.entries[0].elector_id, channel=LinkChannel.SMS, state=DeliveryState.SENT,
                            token_hash=links.token_hash("n" * 43), expires_at=record.vote_closes_at)
        db.session.add(link)
        db.session.commit()
    web = Browserless(app.test_client())
    web.post("/language", {"lang": "en", "next": "/"}, form_url="/")
    page = web.client.get("/vote/link/" + "n" * 43)
    assert page.status_code == 200 and "Voting opens at" in page.get_data(as_text=True)
    assert 'id="open-ballot"' not in page.get_data(as_text=True)
    assert web.post("/vote/link/" + "n" * 43, {}, form_url="/").status_code == 403
    assert count(app, PersonalLink, PersonalLink.opened_at.is_not(None)) == 0


# ---------------------------------------------------------------------------
# Voting with the link


def test_voting_with_a_link_gives_a_receipt_then_the_bound_card_is_refused(app, organizer, roll_event, capfd):
    found, _dispatch = sms_tokens(app, organizer, roll_event, capfd)
    person = roll_event.entries[0]
    voter, _opened = link_voter(app, found[person.phone])
    done = vote_with_link(voter, roll_event.id, roll_event.category, roll_event.finalists[0])
    assert done.status_code == 200
    assert receipt_from(done)
    assert f'href="/vote/link/events/{roll_event.id}"' in done.get_data(as_text=True)
    with app.app_context():
        participation = db.session.scalars(select(Participation)).one()
        assert participation.elector_id == person.elector_id and participation.channel.value == "online"
    overview = voter.client.get(f"/vote/link/events/{roll_event.id}").get_data(as_text=True)
    assert "You have voted" in overview
    # The same person's card, bound at the desk, then finds the ballot cast.
    with app.app_context():
        elector_factories.bind(roll_event.card_id, person.elector_id)
        db.session.commit()
    desk = Browserless(app.test_client())
    desk.post("/language", {"lang": "en", "next": "/"}, form_url="/")
    refused = cast_with_card(desk, roll_event.id, roll_event.category, roll_event.finalists[1])
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert "cast online at" in text and "본선 0" not in text
    # And the link cannot vote twice either.
    assert voter.client.get(f"/vote/link/events/{roll_event.id}/categories/{roll_event.category}").status_code == 409
    assert count(app, Ballot) == 1


def test_a_bound_card_first_then_the_link_is_refused(app, organizer, roll_event, capfd):
    person = roll_event.entries[0]
    with app.app_context():
        elector_factories.bind(roll_event.card_id, person.elector_id)
        db.session.commit()
    desk = Browserless(app.test_client())
    assert cast_with_card(desk, roll_event.id, roll_event.category, roll_event.finalists[0]).status_code == 200
    found, _dispatch = sms_tokens(app, organizer, roll_event, capfd)
    voter, _opened = link_voter(app, found[person.phone])
    refused = vote_with_link(voter, roll_event.id, roll_event.category, roll_event.finalists[1])
    assert refused.status_code == 409
    assert "with an on-site card at" in refused.get_data(as_text=True)
    # The cast itself, posted straight, is refused by the database's rule too.
    cast = voter.post(f"/vote/link/events/{roll_event.id}/categories/{roll_event.category}/cast",
                      {"approvals": [str(roll_event.finalists[1])], "action": "cast"}, form_url="/")
    assert cast.status_code == 409
    assert count(app, Ballot) == 1


def test_the_claimed_account_and_the_link_of_one_person_collide(app, organizer, roll_event, capfd):
    person = roll_event.entries[0]
    with app.app_context():
        account = factories.user("resident")
        from voting.electors.models import Elector

        db.session.get(Elector, person.elector_id).user_id = account.id
        account = factories.Snapshot.of(account)
        db.session.commit()
    found, _dispatch = sms_tokens(app, organizer, roll_event, capfd)
    voter, _opened = link_voter(app, found[person.phone])
    assert vote_with_link(voter, roll_event.id, roll_event.category, roll_event.finalists[0]).status_code == 200
    online = Browserless(app.test_client())
    online.post("/language", {"lang": "en", "next": "/"}, form_url="/")
    online.login(account.email)
    response = online.client.get(f"/categories/{roll_event.category}/vote")
    assert response.status_code == 409 and "cast online at" in response.get_data(as_text=True)
    assert count(app, Ballot) == 1


def test_revoking_a_link_ends_the_ballot_page_it_opened(app, organizer, roll_event, capfd):
    found, _dispatch = sms_tokens(app, organizer, roll_event, capfd)
    person = roll_event.entries[0]
    voter, _opened = link_voter(app, found[person.phone])
    base = f"/vote/link/events/{roll_event.id}/categories/{roll_event.category}"
    assert voter.post(base, {"approvals": [str(roll_event.finalists[0])]}).status_code == 200  # the confirm page
    token = voter.token(base)
    with app.app_context():
        link_id = db.session.scalar(select(PersonalLink.id).where(PersonalLink.elector_id == person.elector_id))
    revoked = organizer.post(f"/manage/events/{roll_event.id}/links/{link_id}/revoke",
                             {"next": f"/manage/events/{roll_event.id}/links"},
                             form_url=f"/manage/events/{roll_event.id}/links")
    assert revoked.status_code == 302 and revoked.headers["Location"] == f"/manage/events/{roll_event.id}/links"
    cast = voter.client.post(f"{base}/cast", data={"csrf_token": token, "approvals": [str(roll_event.finalists[0])],
                                                   "action": "cast"})
    assert cast.status_code == 410 and "withdrew this link" in cast.get_data(as_text=True)
    assert count(app, Ballot) == 0
    assert voter.client.get(f"/vote/link/events/{roll_event.id}").status_code == 403  # the session is gone
    assert Browserless(app.test_client()).client.get(f"/vote/link/{found[person.phone]}").status_code == 410
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "links.revoke")) == 1
    # Revoking twice says so and changes nothing.
    before = database_rows(app)
    again = organizer.post(f"/manage/events/{roll_event.id}/links/{link_id}/revoke", {},
                           form_url=f"/manage/events/{roll_event.id}/links")
    assert "revoked already" in organizer.client.get(again.headers["Location"]).get_data(as_text=True)
    assert database_rows(app) == before


def test_a_revocation_between_two_pages_ends_the_session(app, organizer, roll_event, capfd):
    found, _dispatch = sms_tokens(app, organizer, roll_event, capfd)
    person = roll_event.entries[0]
    voter, _opened = link_voter(app, found[person.phone])
    with app.app_context():
        link = db.session.scalars(select(PersonalLink).where(PersonalLink.elector_id == person.elector_id)).one()
        link.revoked_at = utcnow()
        db.session.commit()
    response = voter.client.get(f"/vote/link/events/{roll_event.id}/categories/{roll_event.category}")
    assert response.status_code == 410
    with voter.client.session_transaction() as session:
        assert "personal_link" not in session


def test_resending_revokes_the_old_link_and_the_new_one_works(app, organizer, roll_event, capfd):
    found, _dispatch = sms_tokens(app, organizer, roll_event, capfd)
    person = roll_event.entries[0]
    old = found[person.phone]
    capfd.readouterr()
    response = organizer.post(f"/manage/events/{roll_event.id}/links/entries/{person.id}/resend",
                              {"channel": "sms", "next": f"/manage/roll/{roll_event.id}"},
                              form_url=f"/manage/events/{roll_event.id}/links")
    dispatch_id = dispatch_id_of(response)
    assert wait_until_done(organizer, roll_event.id, dispatch_id)["sent"] == 1
    new = tokens_in(capfd.readouterr().err)
    assert len(new) == 1 and new[0] != old
    assert Browserless(app.test_client()).client.get(f"/vote/link/{old}").status_code == 410
    voter, opened = link_voter(app, new[0])
    assert opened.status_code == 302
    assert vote_with_link(voter, roll_event.id, roll_event.category, roll_event.finalists[0]).status_code == 200
    with app.app_context():
        rows = db.session.scalars(select(PersonalLink).where(PersonalLink.elector_id == person.elector_id)
                                  .order_by(PersonalLink.id)).all()
        assert [r.revoked_at is not None for r in rows] == [True, False]
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "links.resend")) == 1
    # The links page shows each entry's state, with the buttons of the roll page.
    page = organizer.client.get(f"/manage/events/{roll_event.id}/links").get_data(as_text=True)
    assert f'id="link-actions-{person.id}"' in page and "Opened" in page


def test_a_link_expires_with_the_voting_window(app, organizer, roll_event, capfd):
    found, _dispatch = sms_tokens(app, organizer, roll_event, capfd)
    first, second = roll_event.entries[0], roll_event.entries[1]
    voter, _opened = link_voter(app, found[first.phone])
    with app.app_context():
        event = db.session.get(Event, roll_event.id)
        event.vote_opens_at = utcnow() - timedelta(days=3)
        event.vote_closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    unopened = Browserless(app.test_client())
    unopened.post("/language", {"lang": "en", "next": "/"}, form_url="/")
    response = unopened.client.get(f"/vote/link/{found[second.phone]}")
    assert response.status_code == 410 and "has expired" in response.get_data(as_text=True)
    assert voter.client.get(f"/vote/link/events/{roll_event.id}").status_code == 410
    # Sending after the window is refused too.
    before = database_rows(app)
    refused = send_links(organizer, roll_event.id, "sms", scope="selected", entry_ids=[second.id])
    assert "voting window has ended" in organizer.client.get(refused.headers["Location"]).get_data(as_text=True)
    assert database_rows(app) == before


# ---------------------------------------------------------------------------
# Refusals


def test_events_not_in_roll_mode_refuse_sending(app, english):
    event = make_roll_event(app, eligibility="phone")
    web = Browserless(app.test_client())
    web.post("/language", {"lang": "en", "next": "/"}, form_url="/")
    web.login(event.organizer.email)
    page = web.client.get(f"/manage/events/{event.id}/links").get_data(as_text=True)
    assert "only for events in roll mode" in page and 'id="send-links"' not in page
    before = database_rows(app)
    response = send_links(web, event.id, "sms")
    assert "only for events in roll mode" in web.client.get(response.headers["Location"]).get_data(as_text=True)
    resend = web.post(f"/manage/events/{event.id}/links/entries/{event.entries[0].id}/resend", {"channel": "sms"},
                      form_url=f"/manage/events/{event.id}/links")
    assert resend.status_code == 302
    assert database_rows(app) == before


def test_frozen_events_refuse_sending(app, english):
    event = make_roll_event(app, state="frozen")
    web = Browserless(app.test_client())
    web.post("/language", {"lang": "en", "next": "/"}, form_url="/")
    web.login(event.organizer.email)
    assert "frozen" in web.client.get(f"/manage/events/{event.id}/links").get_data(as_text=True)
    before = database_rows(app)
    response = send_links(web, event.id, "sms")
    assert "frozen" in web.client.get(response.headers["Location"]).get_data(as_text=True)
    assert database_rows(app) == before


def test_a_link_of_a_frozen_event_opens_nothing(app, english, web):
    event = make_roll_event(app)
    with app.app_context():
        db.session.add(PersonalLink(elector_id=event.entries[0].elector_id, channel=LinkChannel.SMS, state=DeliveryState.SENT,
                                    token_hash=links.token_hash("f" * 43), expires_at=utcnow() + timedelta(days=3)))
        db.session.get(Event, event.id).state = EventState.FROZEN
        db.session.commit()
    before = database_rows(app)
    response = web.post("/vote/link/" + "f" * 43, {}, form_url="/")
    assert response.status_code == 410 and "Voting in this event has ended" in response.get_data(as_text=True)
    assert database_rows(app) == before


def test_link_ballot_pages_without_an_opened_link_are_refused(app, english, web, roll_event):
    for url in (f"/vote/link/events/{roll_event.id}",
                f"/vote/link/events/{roll_event.id}/categories/{roll_event.category}"):
        response = web.client.get(url)
        assert response.status_code == 403 and "Open your personal link first" in response.get_data(as_text=True)
    before = database_rows(app)
    cast = web.post(f"/vote/link/events/{roll_event.id}/categories/{roll_event.category}/cast",
                    {"approvals": [str(roll_event.finalists[0])], "action": "cast"}, form_url="/")
    assert cast.status_code == 403
    assert database_rows(app) == before


@pytest.mark.parametrize("role", ["resident", "official", "judge", "staff"])
def test_other_roles_cannot_send_or_see_links(app, roll_event, role, make_user):
    user = make_user(role)
    web = Browserless(app.test_client())
    assert web.login(user.email).status_code == 302
    before = database_rows(app)
    assert web.client.get(f"/manage/events/{roll_event.id}/links").status_code == 403
    assert send_links(web, roll_event.id, "sms").status_code == 403
    assert web.post(f"/manage/events/{roll_event.id}/links/entries/{roll_event.entries[0].id}/resend",
                    {"channel": "sms"}, form_url="/").status_code == 403
    assert database_rows(app) == before
    anonymous = Browserless(app.test_client())
    response = anonymous.client.get(f"/manage/events/{roll_event.id}/links")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_no_plain_token_or_phone_number_is_stored(app, organizer, roll_event, capfd, mailbox):
    found, _dispatch = sms_tokens(app, organizer, roll_event, capfd)
    mailed = dispatch_id_of(send_links(organizer, roll_event.id, "mail", scope="selected",
                                       entry_ids=[roll_event.entries[2].id]))
    wait_until_done(organizer, roll_event.id, mailed)
    tokens = set(found.values()) | set(tokens_in(mailbox.last_link(roll_event.entries[2].email)))
    voter, _opened = link_voter(app, found[roll_event.entries[0].phone])
    vote_with_link(voter, roll_event.id, roll_event.category, roll_event.finalists[0])
    assert len(tokens) == 4
    secrets = set(tokens)
    for person in roll_event.entries:
        digits = person.phone.replace("-", "")
        secrets |= {person.phone, digits, e164(person.phone), digits[1:], person.phone[4:]}
    with app.app_context():
        with db.engine.connect() as connection:
            for table in db.metadata.sorted_tables:
                columns = [c for c in table.columns if isinstance(c.type, (String, Text))]
                for row in connection.execute(select(*columns)) if columns else []:
                    for value in row:
                        if isinstance(value, str):
                            leaked = [s for s in secrets if s in value]
                            assert not leaked, (table.name, leaked)


def test_the_roll_page_shows_each_entrys_link_with_its_buttons(app, organizer, roll_event, capfd):
    person = roll_event.entries[0]
    sms_tokens(app, organizer, roll_event, capfd, scope="selected", entry_ids=[person.id])
    page = organizer.client.get(f"/manage/events/{roll_event.id}/roll")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f'href="/manage/events/{roll_event.id}/links" id="personal-links-link"' in text
    mine = text[text.index(f'id="link-actions-{person.id}"'):]
    mine = mine[:mine.index("</div>")]
    assert "Sent, not opened yet" in mine
    assert f'action="/manage/events/{roll_event.id}/links/' in mine and "/revoke" in mine
    assert f"/links/entries/{person.id}/resend" in mine
    others = text[text.index(f'id="link-actions-{roll_event.entries[1].id}"'):]
    assert "No link sent" in others[:others.index("</div>")]
    # Revoking from the roll page comes back to it.
    link_id = int(re.search(r"/links/(\d+)/revoke", mine).group(1))
    back = organizer.post(f"/manage/events/{roll_event.id}/links/{link_id}/revoke",
                          {"next": f"/manage/events/{roll_event.id}/roll"}, form_url=f"/manage/events/{roll_event.id}/roll")
    assert back.headers["Location"] == f"/manage/events/{roll_event.id}/roll"
    assert "Revoked" in organizer.client.get(back.headers["Location"]).get_data(as_text=True)


def fire_together(actions):
    barrier = threading.Barrier(len(actions))
    results = [None] * len(actions)

    def run(i):
        barrier.wait()
        try:
            results[i] = actions[i]()
        except Exception as exc:  # a failed connection is a result too
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_two_organizers_sending_to_everyone_at_once_send_each_person_one_link(app, roll_event, live_server):
    url = f"/manage/events/{roll_event.id}/links"
    sessions = [Session(live_server.url).login(roll_event.organizer.email, factories.PASSWORD) for _i in range(2)]
    forms = [{"csrf_token": s.token(url), "channel": "sms", "scope": "unsent"} for s in sessions]
    results = fire_together([lambda i=i: sessions[i].post(f"{url}/send", forms[i]) for i in range(2)])
    assert all(not isinstance(r, Exception) and r[0] == 302 for r in results), results
    started = [r for r in results if "/dispatches/" in r[1]["Location"]]
    assert len(started) == 1
    links.wait_for_workers(30)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LinkDispatch)) == 1
        rows = db.session.scalars(select(PersonalLink)).all()
        assert sorted(r.elector_id for r in rows) == sorted(p.elector_id for p in roll_event.entries)
        assert all(r.revoked_at is None and r.state == DeliveryState.SENT for r in rows)


def test_a_revocation_racing_a_cast_never_half_happens(app, organizer, roll_event, capfd, live_server):
    found, _dispatch = sms_tokens(app, organizer, roll_event, capfd)
    person = roll_event.entries[0]
    voter = Session(live_server.url)
    url = f"/vote/link/{found[person.phone]}"
    assert voter.post(url, {"csrf_token": voter.token(url)})[0] == 302
    ballot_url = f"/vote/link/events/{roll_event.id}/categories/{roll_event.category}"
    confirm = voter.post(ballot_url, {"csrf_token": voter.token(ballot_url), "approvals": [str(roll_event.finalists[0])]})
    assert confirm[0] == 200
    cast_token = re.search(r'name="csrf_token" value="([^"]+)"', confirm[2]).group(1)
    boss = Session(live_server.url).login(roll_event.organizer.email, factories.PASSWORD)
    with app.app_context():
        link_id = db.session.scalar(select(PersonalLink.id).where(PersonalLink.elector_id == person.elector_id))
    manage = f"/manage/events/{roll_event.id}/links"
    revoke_form = {"csrf_token": boss.token(manage)}
    cast_form = {"csrf_token": cast_token, "approvals": [str(roll_event.finalists[0])], "action": "cast"}
    cast, revoke = fire_together([lambda: voter.post(f"{ballot_url}/cast", cast_form),
                                  lambda: boss.post(f"{manage}/{link_id}/revoke", revoke_form)])
    assert revoke[0] == 302 and cast[0] in (302, 410), (cast[0], revoke[0])
    with app.app_context():
        assert db.session.get(PersonalLink, link_id).revoked_at is not None
    assert count(app, Ballot) == (1 if cast[0] == 302 else 0)
    # The ballot page is closed either way: by this look (410), or already by the refused cast (403).
    assert voter.get(f"/vote/link/events/{roll_event.id}")[0] == (410 if cast[0] == 302 else 403)
