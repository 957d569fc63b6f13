"""Online ballots: the two-step flow, one ballot per voter and category, receipts."""
from sqlalchemy import func, inspect, select

from voting.ballots.models import Ballot, BallotApproval, Participation
from voting.extensions import db

from tests.voting_helpers import approvals_count, cast_online, receipt_from, voting_event


def test_resident_casts_two_approvals_and_gets_a_receipt(app, web, login_as, mailbox):
    event_id, category_id, finalists = voting_event(app)
    resident = login_as("resident")

    page = web.client.get(f"/categories/{category_id}/vote").get_data(as_text=True)
    assert "본선 후보 0" in page and 'type="checkbox"' in page

    response = web.post(f"/categories/{category_id}/vote", {"approvals": [str(finalists[0]), str(finalists[2])]})
    confirm = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "본선 후보 0" in confirm and "본선 후보 2" in confirm and 'value="cast"' in confirm
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0, "nothing is cast before confirming"

    response = cast_online(web, category_id, [finalists[0], finalists[2]])
    receipt = receipt_from(response)
    assert len(receipt.replace("-", "")) == 16
    assert approvals_count(app, finalists[0]) == 1 and approvals_count(app, finalists[1]) == 0
    mail = wait_for_mail(mailbox, resident.email)
    assert receipt in mail.get_content()

    assert web.client.get("/vote/receipt").status_code == 302, "the receipt is shown once"
    checked = web.post("/receipts/check", {"receipt": receipt.lower()}).get_data(as_text=True)
    assert 'class="result-ok"' in checked
    missing = web.post("/receipts/check", {"receipt": "AAAA-BBBB-CCCC-DDDD"}).get_data(as_text=True)
    assert 'class="result-missing"' in missing


def wait_for_mail(mailbox, address, timeout=10):
    """Receipts are mailed in the background, after the response."""
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        if mailbox.to(address):
            return mailbox.to(address)[-1]
        time.sleep(0.05)
    raise AssertionError(f"no mail to {address}")


def test_second_ballot_in_a_category_is_refused(app, web, login_as):
    _event_id, category_id, finalists = voting_event(app)
    login_as("official")
    assert cast_online(web, category_id, [finalists[0]]).status_code == 200
    again = web.client.get(f"/categories/{category_id}/vote")
    assert again.status_code == 409
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Ballot)) == 1
        assert db.session.scalar(select(Ballot.group)).value == "official"


def test_ballot_content_has_no_voter_and_no_time(app):
    with app.app_context():
        ballot_columns = {c["name"] for c in inspect(db.engine).get_columns("ballots")}
        approval_columns = {c["name"] for c in inspect(db.engine).get_columns("ballot_approvals")}
        participation_columns = {c["name"] for c in inspect(db.engine).get_columns("participations")}
    assert ballot_columns == {"id", "category_id", "voting_group", "channel"}
    assert approval_columns == {"ballot_id", "nomination_id", "category_id", "voting_group", "channel", "opens_ballot"}
    assert "ballot_id" not in participation_columns and "nomination_id" not in participation_columns


def test_too_many_or_foreign_choices_are_refused(app, web, login_as, make_event):
    _event_id, category_id, finalists = voting_event(app, finalists=4)
    _other_event, _other_category, other_finalists = voting_event(app)
    login_as("resident")
    too_many = web.post(f"/categories/{category_id}/vote", {"approvals": [str(f) for f in finalists[:3]]})
    assert too_many.status_code == 400 and 'id="approvals-error"' in too_many.get_data(as_text=True)
    foreign = web.post(f"/categories/{category_id}/vote", {"approvals": [str(other_finalists[0])]})
    assert foreign.status_code == 400
    none = web.post(f"/categories/{category_id}/vote", {})
    assert none.status_code == 400
    forged = cast_online_raw(web, category_id, [str(other_finalists[0])])
    assert forged.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Participation)) == 0
        assert db.session.scalar(select(func.count()).select_from(BallotApproval)) == 0


def cast_online_raw(web, category_id, approvals):
    return web.post(f"/categories/{category_id}/vote/cast", {"approvals": approvals, "action": "cast"}, form_url="/")


def test_own_nomination_cannot_be_approved(app, web, make_user):
    from tests import factories

    with app.app_context():
        event = factories.event(phase="voting")
        me = factories.user("resident")
        mine = factories.nomination(event.id, nominator_id=me.id, state="finalist").id
        category_id = event.categories[0].id
        db.session.commit()
        email = me.email
    web.login(email)
    response = web.post(f"/categories/{category_id}/vote", {"approvals": [str(mine)]})
    assert response.status_code == 400
    assert cast_online_raw(web, category_id, [str(mine)]).status_code == 403


def test_judges_organizers_and_unverified_residents_do_not_vote(app, web, make_user):
    _event_id, category_id, finalists = voting_event(app)
    for role, verified in (("judge", True), ("organizer", True)):
        user = make_user(role, verified=verified)
        client = app.test_client()
        from tests.conftest import Browserless

        browser = Browserless(client)
        browser.login(user.email)
        assert client.get(f"/categories/{category_id}/vote").status_code == 403
    unverified = make_user("resident", verified=False)
    browser = Browserless(app.test_client())
    browser.login(unverified.email)
    page = browser.client.get(f"/categories/{category_id}/vote")
    assert page.status_code == 403
    assert cast_online_raw(browser, category_id, [str(finalists[0])]).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0


def test_outside_the_window_voting_is_refused(app, web, login_as):
    _event_id, category_id, finalists = voting_event(app, phase="nominating")
    login_as("resident")
    response = web.client.get(f"/categories/{category_id}/vote")
    assert response.status_code == 403
    assert cast_online_raw(web, category_id, [str(finalists[0])]).status_code == 403


def test_change_goes_back_with_choices_kept(app, web, login_as):
    _event_id, category_id, finalists = voting_event(app)
    login_as("resident")
    response = web.post(
        f"/categories/{category_id}/vote/cast", {"approvals": [str(finalists[1])], "action": "change"}, form_url="/"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'value="{finalists[1]}" checked' in page or f'checked type="checkbox" value="{finalists[1]}"' in page or "checked" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0


def test_a_freeze_between_the_checks_and_the_write_refuses_the_ballot(app):
    """The state is read again under the write lock, so a ballot cannot slip in after a freeze."""
    import pytest
    from sqlalchemy import create_engine, text

    from voting.ballots import operations
    from voting.events.models import Category
    from voting.events.operations import EventLocked
    from tests import factories

    _event_id, category_id, finalists = voting_event(app)
    with app.test_request_context():
        voter = operations.Voter(user=factories.user("resident"))
        db.session.commit()
        category = db.session.get(Category, category_id)
        assert category.event.state.value == "open"  # what this request saw
        other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        with other.begin() as connection:
            connection.execute(text("UPDATE events SET state = 'frozen' WHERE id = :id"), {"id": category.event_id})
        other.dispose()
        with pytest.raises(EventLocked):
            operations.cast_ballot(category, voter, [finalists[0]])
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0


def test_each_ballot_has_exactly_one_opening_approval(app, web, login_as):
    """Counting opening approvals counts ballots: the results read B_g that way."""
    _event_id, category_id, finalists = voting_event(app, finalists=3)
    login_as("resident")
    cast_online(web, category_id, [finalists[2], finalists[0]])
    with app.app_context():
        rows = db.session.execute(select(BallotApproval.nomination_id, BallotApproval.opens_ballot)).all()
        assert sorted(rows) == [(finalists[0], True), (finalists[2], False)]
