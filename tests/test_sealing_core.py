"""The sealed box at its core: keys and shares, sealed casting, the commitment, the opening."""
import hashlib

import pytest
from sqlalchemy import func, select

from voting.ballots.models import Ballot, BallotApproval
from voting.events.models import Event, EventState
from voting.events.operations import NotAllowed
from voting.extensions import db
from voting.results import operations as results
from voting.sealing import keys
from voting.sealing import operations as sealing
from voting.sealing.models import BallotBox, Receipt, SealedBallot

from tests.sealing_helpers import seal_event
from tests.voting_helpers import cast_online, receipt_from, voting_event


# ---------------------------------------------------------------------------
# Keys and shares (no database)


def test_a_sealed_ballot_has_one_length_whatever_was_chosen_and_opens_with_k_shares():
    private, public_key = keys.new_key_pair()
    shares = keys.split_key(private, 3, 5)
    assert len(shares) == 5 and all(len(s.split()) == 33 for s in shares)
    few = keys.seal(public_key, keys.ballot_payload("resident", "online", [7]))
    many = keys.seal(public_key, keys.ballot_payload("official", "onsite", list(range(10**17, 10**17 + 20))))
    assert len(few) == len(many) == keys.SEALED_SIZE
    rebuilt = keys.recover_key([shares[4], shares[1], shares[2]], public_key, 3)
    assert keys.unseal(rebuilt, few) == {"group": "resident", "channel": "online", "approvals": [7]}
    # Every share given: the first k are enough.
    assert bytes(keys.recover_key(shares, public_key, 3)) == bytes(private)


def test_each_kind_of_wrong_shares_is_told_apart():
    private, public_key = keys.new_key_pair()
    shares = keys.split_key(private, 3, 5)
    other_private, _other_public = keys.new_key_pair()
    other = keys.split_key(other_private, 3, 5)
    typo = shares[1].split()
    typo[5] = "zzz"
    cases = {
        keys.ShareProblem.TOO_FEW: [shares[0], shares[1]],
        keys.ShareProblem.DUPLICATE: [shares[0], shares[0], shares[1]],
        keys.ShareProblem.INVALID: [shares[0], " ".join(typo), shares[2]],
        keys.ShareProblem.MISMATCH: [shares[0], shares[1], other[2]],
        keys.ShareProblem.WRONG_BOX: other[:3],
    }
    for reason, typed in cases.items():
        with pytest.raises(keys.ShareProblem) as raised:
            keys.recover_key(typed, public_key, 3)
        assert raised.value.reason == reason


def test_the_commitment_and_plain_hash_follow_design_md():
    hashes = ["b" * 64, "a" * 64]
    assert keys.commitment(hashes) == hashlib.sha256(("a" * 64 + "\n" + "b" * 64).encode()).hexdigest()
    line = keys.plain_line(3, {"group": "resident", "channel": "online", "approvals": [1, 2]})
    assert line == '{"approvals":[1,2],"category":3,"channel":"online","group":"resident"}'
    assert keys.plain_hash([line]) == hashlib.sha256(line.encode()).hexdigest()


# ---------------------------------------------------------------------------
# Through the app


def _table_text(app):
    """Every row of the ballot tables as text, as an insider with a database copy reads them."""
    with app.app_context():
        rows = []
        for model in (Ballot, BallotApproval, SealedBallot, Receipt):
            rows += [repr(tuple(r)) for r in db.session.execute(select(model.__table__)).all()]
        return "\n".join(rows)


@pytest.fixture
def sealed_votes(app, login_as, web):
    event_id, category_id, finalists = voting_event(app, finalists=3)
    shares = seal_event(app, event_id, trustees=3, threshold=2)
    receipts = []
    for chosen in ([finalists[0]], [finalists[1]], [finalists[0]]):
        login_as("resident")  # a new resident each time
        receipts.append(receipt_from(cast_online(web, category_id, chosen)))
    return event_id, category_id, finalists, shares, receipts


def _close(app, event_id):
    with app.app_context():
        event = db.session.get(Event, event_id)
        box = sealing.move_event(event, EventState.CLOSED)
        db.session.commit()
        return box.commitment


def test_while_sealed_no_plain_approval_exists_and_results_wait(app, sealed_votes):
    event_id, category_id, finalists, _shares, _receipts = sealed_votes
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0
        assert db.session.scalar(select(func.count()).select_from(BallotApproval)) == 0
        sealed = db.session.scalars(select(SealedBallot.sealed)).all()
        assert len(sealed) == 3 and {len(s) for s in sealed} == {keys.SEALED_SIZE}
        assert db.session.scalar(select(func.count()).select_from(Receipt)) == 3
        event = db.session.get(Event, event_id)
        assert sealing.results_wait_reason(event)
    for finalist in finalists:
        assert f'"approvals":[{finalist}]' not in _table_text(app)


def test_closing_commits_and_opening_writes_the_plain_ballots_once(app, sealed_votes):
    event_id, category_id, finalists, shares, _receipts = sealed_votes
    commitment = _close(app, event_id)
    with app.app_context():
        box = db.session.get(BallotBox, event_id)
        hashes = sorted(keys.sealed_hash(s) for s in db.session.scalars(select(SealedBallot.sealed)))
        assert commitment == keys.commitment(hashes) and box.hash_list == hashes
        event = db.session.get(Event, event_id)
        with pytest.raises(NotAllowed, match="아직 결과를 확정할 수 없습니다"):
            results.freeze_results(event)
        db.session.rollback()

        event = db.session.get(Event, event_id)
        opened = sealing.open_box(event, [shares[2], shares[0]])
        db.session.commit()
        sealing.compact_storage()
        assert opened.ballots == 3 and opened.commitment == commitment
        assert db.session.scalar(select(func.count()).select_from(SealedBallot)) == 0
        counts = dict(db.session.execute(
            select(BallotApproval.nomination_id, func.count()).group_by(BallotApproval.nomination_id)).all())
        assert counts == {finalists[0]: 2, finalists[1]: 1}
        lines = [keys.plain_line(category_id, {"group": "resident", "channel": "online", "approvals": [f]})
                 for f in (finalists[0], finalists[1], finalists[0])]
        assert opened.plain_sha256 == keys.plain_hash(lines) == db.session.get(BallotBox, event_id).plain_sha256

        event = db.session.get(Event, event_id)
        with pytest.raises(NotAllowed, match="이미"):
            sealing.open_box(event, shares[:2])
        db.session.rollback()
        event = db.session.get(Event, event_id)
        with pytest.raises(NotAllowed, match="다시 열 수 없습니다"):
            sealing.move_event(event, EventState.OPEN)
        db.session.rollback()
        event = db.session.get(Event, event_id)
        assert results.freeze_results(event).sha256


def test_wrong_shares_change_nothing(app, sealed_votes):
    event_id, _category_id, _finalists, shares, _receipts = sealed_votes
    _close(app, event_id)
    before = _table_text(app)
    for typed, message in (([shares[0]], "2개 이상"), ([shares[1], shares[1]], "앞의 조각과 같습니다"),
                           ([shares[0], "word " * 33], "올바르지 않습니다")):
        with app.app_context():
            event = db.session.get(Event, event_id)
            with pytest.raises(NotAllowed, match=message):
                sealing.open_box(event, typed)
            db.session.rollback()
    assert _table_text(app) == before
    with app.app_context():
        assert db.session.get(BallotBox, event_id).opened_at is None


def test_reopening_voting_withdraws_the_commitment(app, sealed_votes):
    event_id, *_rest = sealed_votes
    _close(app, event_id)
    with app.app_context():
        event = db.session.get(Event, event_id)
        sealing.move_event(event, EventState.OPEN)
        db.session.commit()
        assert db.session.get(BallotBox, event_id).commitment is None


def test_a_sealed_event_without_its_ceremony_takes_no_ballot(app, login_as, web):
    event_id, category_id, finalists = voting_event(app, finalists=2)
    with app.app_context():
        db.session.get(Event, event_id).sealed = True
        db.session.commit()
    login_as("resident")
    page = web.post(f"/categories/{category_id}/vote", {"approvals": [str(finalists[0])]})
    assert page.status_code == 403
    assert "not ready" in page.get_data(as_text=True) or "준비되지 않았습니다" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Receipt)) == 0


def test_the_receipt_is_not_readable_in_the_cookie_and_ballot_pages_have_one_size(app, login_as, web):
    event_id, category_id, finalists = voting_event(app, finalists=3)
    seal_event(app, event_id)
    login_as("resident")
    sizes = {len(web.post(f"/categories/{category_id}/vote", {"approvals": [str(f)]}).get_data()) for f in finalists}
    sizes.add(len(web.post(f"/categories/{category_id}/vote", {"approvals": [str(f) for f in finalists[:1]]}).get_data()))
    assert len(sizes) == 1 and sizes.pop() % (32 * 1024) == 0, "the confirmation's size tells the choice"
    token = __import__("re").search(r'name="csrf_token" value="([^"]+)"',
                                    web.post(f"/categories/{category_id}/vote", {"approvals": [str(finalists[2])]})
                                    .get_data(as_text=True)).group(1)
    cast = web.client.post(f"/categories/{category_id}/vote/cast",
                           data={"csrf_token": token, "approvals": [str(finalists[2])], "action": "cast"})
    assert cast.status_code == 302
    cookie = web.client.get_cookie("session").value
    shown = web.client.get("/vote/receipt")
    receipt = receipt_from(shown)
    assert len(shown.get_data()) % (32 * 1024) == 0
    import base64
    import zlib

    payload = cookie.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    decoded = zlib.decompress(raw) if cookie.startswith(".") else raw
    assert receipt.encode() not in decoded and receipt.replace("-", "").encode() not in decoded


def test_organizers_see_turnout_and_the_box_never_counts_while_sealed(app, sealed_votes, login_as, web):
    event_id, category_id, finalists, _shares, _receipts = sealed_votes
    login_as("organizer")
    for url in (f"/manage/events/{event_id}/results", f"/manage/categories/{category_id}/results"):
        page = web.client.get(url)
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert "봉인되어" in text and "box-status" in text
        assert "score" not in text.lower() or "finalist" not in text.lower()
    commitment = _close(app, event_id)
    panel = web.client.get(f"/manage/events/{event_id}/day").get_data(as_text=True)
    assert f'id="box-commitment">{commitment}<' in panel
    assert "개함을 기다리고" in panel
