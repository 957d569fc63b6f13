"""Against a real gunicorn: simultaneous duplicates make one ballot; a killed server loses none."""
import re
import threading
import time

from sqlalchemy import func, select

from voting.ballots import codes
from voting.ballots.models import Ballot, Participation
from voting.extensions import db
from voting.sealing.models import Receipt

from tests import factories
from tests.http import Session
from tests.voting_helpers import voting_event

DUPLICATES = 50


def fire_together(count, action):
    """Runs action(i) in count threads released at the same instant; returns the results."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(i):
        barrier.wait()
        try:
            results[i] = action(i)
        except Exception as exc:  # a failed connection is a result too
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def count_rows(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def confirm_token(session, path, approvals):
    token = session.token(path)
    status, _headers, text = session.post(path, {"csrf_token": token, "approvals": approvals})
    assert status == 200, text[:300]
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


def test_fifty_simultaneous_online_duplicates_make_one_ballot(app, gunicorn_server):
    _event_id, category_id, finalists = voting_event(app)
    voter = Session(gunicorn_server.url).login(make_voter(app), factories.PASSWORD)
    token = confirm_token(voter, f"/categories/{category_id}/vote", [str(finalists[0])])
    form = {"csrf_token": token, "approvals": [str(finalists[0])], "action": "cast"}

    results = fire_together(DUPLICATES, lambda _i: voter.post(f"/categories/{category_id}/vote/cast", form))

    statuses = sorted(r[0] for r in results)
    assert statuses.count(302) == 1, statuses
    assert statuses.count(409) == DUPLICATES - 1, statuses
    assert all(("이미" in r[2] or "already" in r[2]) for r in results if r[0] == 409)
    assert count_rows(app, Ballot) == 1 and count_rows(app, Participation) == 1


def test_fifty_simultaneous_onsite_duplicates_make_one_ballot(app, gunicorn_server):
    event_id, category_id, finalists = voting_event(app)
    with app.test_request_context():
        from voting.ballots import operations
        from voting.events.models import Category

        organizer = factories.user("organizer")
        category = db.session.get(Category, category_id)
        _batch, plain = operations.create_code_batch(category.event, "resident", 1, "", organizer)
        operations.open_onsite_voting(category, None, organizer)
        db.session.commit()
    phone = Session(gunicorn_server.url)
    token = phone.token(f"/onsite/{event_id}?code={plain[0]}")
    status, _h, _t = phone.post(f"/onsite/{event_id}", {"csrf_token": token, "code": plain[0]})
    assert status == 302
    path = f"/onsite/{event_id}/categories/{category_id}"
    token = confirm_token(phone, path, [str(finalists[1])])
    form = {"csrf_token": token, "approvals": [str(finalists[1])], "action": "cast"}

    results = fire_together(DUPLICATES, lambda _i: phone.post(path + "/cast", form))

    statuses = sorted(r[0] for r in results)
    assert statuses.count(302) == 1 and statuses.count(409) == DUPLICATES - 1, statuses
    assert count_rows(app, Ballot) == 1


def make_voter(app):
    with app.app_context():
        user = factories.user("resident")
        db.session.commit()
        return user.email


def test_ballots_that_got_a_success_survive_sigkill(app, gunicorn_server):
    _event_id, category_id, finalists = voting_event(app, finalists=4)
    voters = [make_voter(app) for _ in range(60)]
    confirmed = {}
    receipts = []
    lock = threading.Lock()

    def prepare(email):
        session = Session(gunicorn_server.url, timeout=10).login(email, factories.PASSWORD)
        confirmed[email] = (session, confirm_token(session, f"/categories/{category_id}/vote", [str(finalists[0]), str(finalists[3])]))

    for email in voters:
        prepare(email)

    def cast(i):
        session, token = confirmed[voters[i]]
        form = {"csrf_token": token, "approvals": [str(finalists[0]), str(finalists[3])], "action": "cast"}
        status, headers, _text = session.post(f"/categories/{category_id}/vote/cast", form)
        if status == 302:
            _s, _h, page = session.get("/vote/receipt")
            match = re.search(r'id="receipt-code">([0-9A-Z-]+)<', page)
            with lock:
                receipts.append(match.group(1) if match else None)
        return status

    killer = threading.Thread(target=lambda: (wait_for(lambda: len(receipts) >= 20), gunicorn_server.kill()))
    killer.start()
    results = []
    workers = []
    for i in range(len(voters)):
        worker = threading.Thread(target=lambda i=i: results.append(safe(cast, i)))
        workers.append(worker)
        worker.start()
        time.sleep(0.005)
    for worker in workers:
        worker.join(30)
    killer.join(30)

    successes = [r for r in receipts if r]
    cast_successes = results.count(302)
    assert len(successes) >= 20
    assert any(isinstance(r, Exception) for r in results), "the kill came too late to cut anything"

    gunicorn_server.start()
    with app.app_context():
        stored = set(db.session.scalars(select(Receipt.receipt_hash)))
        ballots = db.session.scalar(select(func.count()).select_from(Ballot))
        assert ballots == db.session.scalar(select(func.count()).select_from(Participation)), (
            "every participation has its ballot and no ballot lacks one"
        )
    assert ballots >= cast_successes, "a ballot that got a success response is gone"
    missing = [r for r in successes if codes.receipt_hash(r) not in stored]
    assert missing == []


def safe(function, *args):
    try:
        return function(*args)
    except Exception as exc:
        return exc


def wait_for(condition, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline and not condition():
        time.sleep(0.01)
