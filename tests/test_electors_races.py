"""One elector, many channels at once: 50 simultaneous submits against a real gunicorn make one
ballot; and a roll-mode event turns away those who are not on its roll, through the pages."""
import re

import pytest
from sqlalchemy import func, select

from voting.audit.models import AuditEntry
from voting.audit.operations import verify_chain
from voting.ballots.models import Ballot, BallotApproval, OnsiteSession, Participation
from voting.database import utcnow
from voting.electors.models import Elector
from voting.extensions import db

from tests import elector_factories, factories
from tests.conftest import database_rows
from tests.http import Session
from tests.test_voting_races import confirm_token, fire_together
from tests.voting_helpers import cast_online

ONLINE, CARDS = 25, 25
CARD = "RACE-CARD-001"


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _event_with_onsite_voting(app, eligibility):
    """An event of the mode in its voting window, on-site voting open in its first category, two finalists."""
    with app.app_context():
        event = factories.event(phase="voting", eligibility=eligibility)
        organizer = factories.user("organizer")
        nominator = factories.user("resident")
        finalists = [factories.nomination(event.id, nominator_id=nominator.id, state="finalist", title=f"후보 {i}").id
                     for i in range(2)]
        category_id = event.categories[0].id
        db.session.add(OnsiteSession(category_id=category_id, opened_at=utcnow()))
        code = elector_factories.card(event.id, organizer.id, CARD)
        db.session.commit()
        return event.id, category_id, finalists, code.id


@pytest.fixture
def one_elector_two_channels(app):
    """A phone-mode event; one resident whose confirmed phone is their elector, and a card bound to it."""
    event_id, category_id, finalists, code_id = _event_with_onsite_voting(app, "phone")
    with app.app_context():
        resident = factories.user("resident")
        elector = elector_factories.phone_elector(event_id, "010-5550-0100", user_id=resident.id)
        elector_factories.bind(code_id, elector.id)
        db.session.commit()
        return event_id, category_id, finalists, resident.email, elector.id


def _online_form(base_url, email, category_id, finalist):
    """A signed-in session of its own, at the confirm step, with the page's CSRF token."""
    session = Session(base_url).login(email, factories.PASSWORD)
    token = confirm_token(session, f"/categories/{category_id}/vote", [str(finalist)])
    return session, f"/categories/{category_id}/vote/cast", {"csrf_token": token, "approvals": [str(finalist)], "action": "cast"}


def _card_form(base_url, event_id, category_id, finalist):
    """A browser of its own that typed the card's code, at the confirm step."""
    session = Session(base_url)
    token = session.token(f"/onsite/{event_id}")
    status, headers, _text = session.post(f"/onsite/{event_id}", {"csrf_token": token, "code": CARD})
    assert status == 302 and headers["Location"].endswith(f"/onsite/{event_id}/ballots"), status
    path = f"/onsite/{event_id}/categories/{category_id}"
    token = confirm_token(session, path, [str(finalist)])
    return session, path + "/cast", {"csrf_token": token, "approvals": [str(finalist)], "action": "cast"}


def test_fifty_simultaneous_submits_of_one_elector_online_and_by_card_make_one_ballot(
        app, gunicorn_server, one_elector_two_channels):
    event_id, category_id, finalists, email, elector_id = one_elector_two_channels
    prepared = [_online_form(gunicorn_server.url, email, category_id, finalists[0]) for _i in range(ONLINE)]
    prepared += [_card_form(gunicorn_server.url, event_id, category_id, finalists[1]) for _i in range(CARDS)]
    assert count(app, Participation) == 0

    def submit(i):
        session, path, form = prepared[i]
        return session.post(path, form)

    results = fire_together(ONLINE + CARDS, submit)

    failures = [r for r in results if isinstance(r, Exception)]
    assert failures == [], failures[:3]
    statuses = sorted(status for status, _headers, _text in results)
    assert 500 not in statuses
    assert statuses.count(302) == 1 and statuses.count(409) == ONLINE + CARDS - 1, statuses
    winner = next(i for i, (status, _h, _t) in enumerate(results) if status == 302)
    assert results[winner][1]["Location"].endswith("/vote/receipt")
    for status, _headers, text in results:
        if status == 409:  # the channel and the time of day, never the choice
            assert ("이미" in text or "already" in text) and "후보 0" not in text and "후보 1" not in text
    winning_channel = "online" if winner < ONLINE else "onsite"

    with app.app_context():
        participations = db.session.execute(select(Participation.elector_id, Participation.channel)).all()
        assert [(e, c.value) for e, c in participations] == [(elector_id, winning_channel)]
        assert db.session.scalar(select(func.count()).select_from(Ballot)) == 1
        approved = db.session.scalars(select(BallotApproval.nomination_id)).all()
        assert approved == [finalists[0] if winner < ONLINE else finalists[1]]
        assert db.session.scalar(select(func.count()).select_from(Elector)) == 1  # no twin elector was made
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "ballot.cast")) == 1
        checked, broken, reason = verify_chain()
        assert broken is None, reason
        assert checked >= 1

    # The winner's receipt page works once; the others were told "already voted".
    _status, _headers, page = prepared[winner][0].get("/vote/receipt")
    assert re.search(r'id="receipt-code">([0-9A-Z-]+)<', page)


def test_roll_mode_refuses_an_account_without_an_entry_and_an_unbound_card(app, web, english):
    event_id, category_id, finalists, _code_id = _event_with_onsite_voting(app, "roll")
    with app.app_context():
        outsider = factories.user("resident")
        # Someone else is on the roll: the outsider is not.
        elector_factories.roll_entry(event_id, "김영희", "010-5550-0200")
        db.session.commit()
        email = outsider.email
    before = database_rows(app)

    web.login(email)
    page = web.client.get(f"/categories/{category_id}/vote")
    assert page.status_code == 403
    text = page.get_data(as_text=True)
    assert "Only the people on this event&#39;s roll vote. Find your entry on the roll first." in text
    assert f'href="/events/{event_id}/claim"' in text  # the button to find one's entry on the roll
    refused = web.post(f"/categories/{category_id}/vote", {"approvals": [str(finalists[0])]})
    assert refused.status_code == 403
    cast = web.post(f"/categories/{category_id}/vote/cast", {"approvals": [str(finalists[0])], "action": "cast"},
                    form_url="/")
    assert cast.status_code == 403
    web.logout()

    assert web.post(f"/onsite/{event_id}", {"code": CARD}).status_code == 302
    card_page = web.client.get(f"/onsite/{event_id}/categories/{category_id}")
    assert card_page.status_code == 403 and "check-in desk" in card_page.get_data(as_text=True)
    card_cast = web.post(f"/onsite/{event_id}/categories/{category_id}/cast",
                         {"approvals": [str(finalists[0])], "action": "cast"}, form_url=f"/onsite/{event_id}")
    assert card_cast.status_code == 403 and "check-in desk" in card_cast.get_data(as_text=True)

    after = database_rows(app)
    # Signing in writes nothing a vote needs; no elector, participation or ballot was made.
    for table in ("electors", "participations", "ballots", "ballot_approvals", "card_bindings", "roll_entries"):
        assert after[table] == before[table], table


def test_roll_mode_lets_the_claimed_entry_vote_once_across_channels(app, web, english):
    """The same event, for the one on the roll: their claimed entry votes online, and a card the desk
    bound to it is then refused."""
    event_id, category_id, finalists, code_id = _event_with_onsite_voting(app, "roll")
    with app.app_context():
        resident = factories.user("resident")
        _entry, elector = elector_factories.roll_entry(event_id, "김영희", "010-5550-0201", user_id=resident.id)
        elector_factories.bind(code_id, elector.id)
        db.session.commit()
        email, elector_id = resident.email, elector.id
    web.login(email)
    assert cast_online(web, category_id, [finalists[0]]).status_code == 200
    web.logout()
    assert web.post(f"/onsite/{event_id}", {"code": CARD}).status_code == 302
    again = web.client.get(f"/onsite/{event_id}/categories/{category_id}")
    assert again.status_code == 409 and "cast online at" in again.get_data(as_text=True)
    assert count(app, Participation, Participation.elector_id == elector_id) == 1
    assert count(app, Ballot) == 1
