"""One person, one ballot per category, whichever channel comes first: the rule of the electors.

The phone step and the desk are past here (tests/elector_factories makes their records);
what is tested is the cast path itself, through the real pages.
"""
import pytest
from sqlalchemy import func, select

from voting.ballots.models import Ballot, OnsiteSession, Participation
from voting.database import utcnow
from voting.electors.models import Elector, ElectorKind
from voting.extensions import db

from tests import elector_factories, factories
from tests.conftest import Browserless
from tests.voting_helpers import cast_online

CARD = "CARD-2TES-T01"


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def phone_event(app):
    """A phone-mode event in its voting window, on-site voting open in its first category, two finalists."""
    with app.app_context():
        event = factories.event(phase="voting", eligibility="phone")
        organizer = factories.user("organizer")
        nominator = factories.user("resident")
        finalists = [factories.nomination(event.id, nominator_id=nominator.id, state="finalist", title=f"후보 {i}").id
                     for i in range(2)]
        category_id = event.categories[0].id
        db.session.add(OnsiteSession(category_id=category_id, opened_at=utcnow()))
        code = elector_factories.card(event.id, organizer.id, CARD)
        db.session.commit()
        return factories.Snapshot.of(event), category_id, finalists, code.id


def confirmed_resident(app, event_id, phone="010-2345-6789", **kwargs):
    with app.app_context():
        user = factories.user("resident", **kwargs)
        elector = elector_factories.phone_elector(event_id, phone, user_id=user.id)
        db.session.commit()
        return factories.Snapshot.of(user), elector.id


def cast_with_card(web, event_id, category_id, finalist, code=CARD):
    assert web.post(f"/onsite/{event_id}", {"code": code}).status_code == 302
    page = web.post(f"/onsite/{event_id}/categories/{category_id}", {"approvals": [str(finalist)]})
    assert page.status_code in (200, 403, 409), page.status_code
    if page.status_code != 200:
        return page
    return web.post(f"/onsite/{event_id}/categories/{category_id}/cast",
                    {"approvals": [str(finalist)], "action": "cast"},
                    form_url=f"/onsite/{event_id}/categories/{category_id}", follow_redirects=True)


def test_in_phone_mode_an_account_without_a_confirmed_phone_is_sent_to_confirm_it(app, web, phone_event, english):
    event, category_id, finalists, _code = phone_event
    with app.app_context():
        user = factories.Snapshot.of(factories.user("resident"))
        db.session.commit()
    web.login(user.email)
    response = web.client.get(f"/categories/{category_id}/vote")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "after confirming a mobile phone" in page and f"/events/{event.id}/phone" in page
    assert count(app, Participation) == 0


def test_online_then_bound_card_is_refused_and_says_how_and_when(app, web, client, phone_event, english):
    event, category_id, finalists, code_id = phone_event
    user, elector_id = confirmed_resident(app, event.id)
    with app.app_context():
        elector_factories.bind(code_id, elector_id)
        db.session.commit()
    web.login(user.email)
    assert cast_online(web, category_id, [finalists[0]]).status_code == 200
    web.logout()

    refused = cast_with_card(web, event.id, category_id, finalists[1])
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "cast online at" in page and "후보 0" not in page  # the channel and time, never the choice
    assert count(app, Ballot) == 1 and count(app, Participation, Participation.elector_id == elector_id) == 1


def test_bound_card_then_online_is_refused(app, web, phone_event, english):
    event, category_id, finalists, code_id = phone_event
    user, elector_id = confirmed_resident(app, event.id)
    with app.app_context():
        elector_factories.bind(code_id, elector_id)
        db.session.commit()
    assert cast_with_card(web, event.id, category_id, finalists[0]).status_code == 200
    other = Browserless(app.test_client())
    other.post("/language", {"lang": "en", "next": "/"}, form_url="/")
    other.login(user.email)
    response = other.client.get(f"/categories/{category_id}/vote")
    assert response.status_code == 409
    assert "with an on-site card at" in response.get_data(as_text=True)
    assert count(app, Ballot) == 1


def test_in_phone_mode_an_unbound_card_is_sent_to_the_desk(app, web, phone_event, english):
    event, category_id, finalists, _code_id = phone_event
    response = cast_with_card(web, event.id, category_id, finalists[0])
    assert response.status_code == 403
    assert "check-in desk" in response.get_data(as_text=True)
    assert count(app, Ballot) == 0 and count(app, Elector) == 0


def test_two_accounts_of_one_phone_elector_cannot_both_vote(app, phone_event, english):
    """The phone step refuses a second account; were both linked (by a row written behind the app's
    back), the elector is still one: the database refuses the second participation."""
    event, category_id, finalists, _code_id = phone_event
    user, elector_id = confirmed_resident(app, event.id)
    first = Browserless(app.test_client())
    first.login(user.email)
    assert cast_online(first, category_id, [finalists[0]]).status_code == 200
    assert count(app, Participation, Participation.elector_id == elector_id) == 1


def test_open_mode_keeps_one_elector_per_account_and_card(app, web, english):
    with app.app_context():
        event = factories.event(phase="voting")
        organizer = factories.user("organizer")
        nominator = factories.user("resident")
        finalist = factories.nomination(event.id, nominator_id=nominator.id, state="finalist").id
        category_id = event.categories[0].id
        db.session.add(OnsiteSession(category_id=category_id, opened_at=utcnow()))
        elector_factories.card(event.id, organizer.id, CARD)
        voter = factories.Snapshot.of(factories.user("resident"))
        db.session.commit()
        event_id = event.id
    web.login(voter.email)
    assert cast_online(web, category_id, [finalist]).status_code == 200
    assert web.client.get(f"/categories/{category_id}/vote").status_code == 409
    web.logout()
    assert cast_with_card(web, event_id, category_id, finalist).status_code == 200
    with app.app_context():
        kinds = sorted(k.value for k in db.session.scalars(select(Elector.kind)))
    assert kinds == [ElectorKind.ACCOUNT.value, ElectorKind.CARD.value]
    assert count(app, Ballot) == 2
