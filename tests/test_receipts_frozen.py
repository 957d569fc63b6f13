"""Checking a receipt (/receipts/check, voting/ballots/receipts.py) before and after freezing.

Before freezing the answer comes from the ballots table; once frozen, from the frozen list of
receipt hashes (the list the transparency bundle publishes), so a ballot row that appears or
disappears later changes nothing; once published, the page shows the receipt's SHA-256 and
links the bundle that holds it.
"""
import hashlib
import html as html_module
import json
import re

import pytest
from sqlalchemy import delete, select

from tests.conftest import Browserless, app_on_empty_tables
from tests.results_helpers import freeze
from tests.voting_helpers import cast_online, receipt_from, voting_event
from voting.accounts.models import VotingGroup
from voting.ballots.models import Ballot, Channel
from voting.events.models import Event, EventState
from voting.events.operations import change_event_state
from voting.extensions import db
from voting.sealing.models import Receipt
from voting.results import operations as results

COUNTED_LIVE = "Yes. A ballot with this receipt is counted in {event}."
NOT_FROZEN_YET = "The results are not frozen yet."
COUNTED_FROZEN = "Yes. Your ballot is counted in the frozen results of {event}."
LIST_LATER = "The list of receipts is published together with the results."
NOT_IN_FROZEN = "This receipt's ballot is not in the frozen results of {event}. Please tell the organizers."
NOT_FOUND = "No ballot with this receipt was found."
RESULT = re.compile(r'<section class="notice" role="status" id="receipt-result">(.*?)</section>', re.S)


@pytest.fixture(scope="module")
def app(migrated_database, smtp_server):
    """One app for the module; every test builds its own event, so none needs the tables emptied."""
    yield from app_on_empty_tables(migrated_database, smtp_server)


def event_name(app, event_id):
    with app.app_context():
        return db.session.get(Event, event_id).name


def voted(app, login_as, web):
    """An open event in its voting window and one resident's online ballot for its first finalist
    (so no tie crosses an award boundary): (event id, category id, receipt)."""
    event_id, category_id, ids = voting_event(app)
    login_as("resident")
    receipt = receipt_from(cast_online(web, category_id, ids[:1]))
    web.logout()
    return event_id, category_id, receipt


def close_and_freeze(app, event_id):
    with app.app_context():
        change_event_state(db.session.get(Event, event_id), EventState.CLOSED)
        db.session.commit()
    return freeze(app, event_id)


def publish(app, event_id):
    with app.app_context():
        results.publish_results(db.session.get(Event, event_id))
        db.session.commit()


def check(app, receipt):
    """The receipt check as an anonymous visitor in English: the text of the answer, or None."""
    web = Browserless(app.test_client())
    assert web.post("/language", {"lang": "en", "next": "/"}, form_url="/").status_code == 302
    response = web.post("/receipts/check", {"receipt": receipt})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    match = RESULT.search(html)
    return (html_module.unescape(re.sub(r"\s+", " ", match.group(1))) if match else None), html


def sha256_of_receipt(receipt):
    return hashlib.sha256(receipt.replace("-", "").encode("ascii")).hexdigest()


def test_before_freezing_a_receipt_is_counted_and_says_the_results_are_not_frozen(app, web, login_as):
    event_id, _category_id, receipt = voted(app, login_as, web)
    answer, _html = check(app, receipt)
    assert COUNTED_LIVE.format(event=event_name(app, event_id)) in answer
    assert NOT_FROZEN_YET in answer
    assert "frozen results of" not in answer and 'id="receipt-sha256"' not in answer
    # Typed loosely: lower case, spaces for dashes, O for 0 and I or L for 1 read as digits.
    loose = receipt.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    answer, _html = check(app, loose)
    assert COUNTED_LIVE.format(event=event_name(app, event_id)) in answer


def test_after_freezing_the_answer_comes_from_the_frozen_list(app, web, login_as):
    event_id, _category_id, receipt = voted(app, login_as, web)
    close_and_freeze(app, event_id)
    answer, _html = check(app, receipt)
    assert COUNTED_FROZEN.format(event=event_name(app, event_id)) in answer
    assert "frozen results" in answer and LIST_LATER in answer
    assert NOT_FROZEN_YET not in answer
    assert 'id="receipt-sha256"' not in answer and "bundle.json" not in answer, "nothing published yet"
    # The answer no longer depends on the receipts table: the row gone, the frozen list still counts it.
    with app.app_context():
        db.session.execute(delete(Receipt).where(Receipt.receipt_hash == sha256_of_receipt(receipt)))
        db.session.commit()
    answer, _html = check(app, receipt)
    assert COUNTED_FROZEN.format(event=event_name(app, event_id)) in answer


def test_after_publishing_the_page_shows_the_receipts_sha256_which_is_in_the_bundle(app, web, login_as):
    event_id, _category_id, receipt = voted(app, login_as, web)
    close_and_freeze(app, event_id)
    publish(app, event_id)
    answer, _html = check(app, receipt)
    digest = sha256_of_receipt(receipt)
    assert COUNTED_FROZEN.format(event=event_name(app, event_id)) in answer
    assert f'<code id="receipt-sha256">{digest}</code>' in answer
    assert f'href="/events/{event_id}/results/bundle.json"' in answer
    assert f'href="/events/{event_id}/results"' in answer
    assert LIST_LATER not in answer
    # The bundle behind the link, as anyone downloads it, holds that very hash.
    response = app.test_client().get(f"/events/{event_id}/results/bundle.json")
    assert response.status_code == 200
    bundle = json.loads(response.data)
    assert digest in bundle["receipt_hashes"]
    assert receipt not in response.get_data(as_text=True) and receipt.replace("-", "") not in response.get_data(as_text=True)


def test_a_ballot_missing_from_the_frozen_list_is_reported_as_not_in_the_frozen_results(app, web, login_as):
    event_id, category_id, receipt = voted(app, login_as, web)
    close_and_freeze(app, event_id)
    planted = "ABCD-EFGH-JKMN-PQRS"
    with app.app_context():  # written behind the app's back, after the freeze
        db.session.add(Receipt(category_id=category_id, receipt_hash=sha256_of_receipt(planted)))
        db.session.commit()
    answer, _html = check(app, planted)
    assert NOT_IN_FROZEN.format(event=event_name(app, event_id)) in answer
    assert "Yes." not in answer
    # The real ballot's receipt is still answered from the frozen list.
    answer, _html = check(app, receipt)
    assert COUNTED_FROZEN.format(event=event_name(app, event_id)) in answer
    publish(app, event_id)
    answer, _html = check(app, planted)
    assert NOT_IN_FROZEN.format(event=event_name(app, event_id)) in answer and 'id="receipt-sha256"' not in answer


def test_each_receipt_is_answered_with_its_own_event_when_several_are_frozen(app, web, login_as):
    first_id, _c1, first = voted(app, login_as, web)
    second_id, _c2, second = voted(app, login_as, web)
    open_id, _c3, still_open = voted(app, login_as, web)
    close_and_freeze(app, first_id)
    close_and_freeze(app, second_id)
    publish(app, second_id)
    answer, _html = check(app, first)
    assert COUNTED_FROZEN.format(event=event_name(app, first_id)) in answer and 'id="receipt-sha256"' not in answer
    answer, _html = check(app, second)
    assert COUNTED_FROZEN.format(event=event_name(app, second_id)) in answer and 'id="receipt-sha256"' in answer
    assert f"/events/{second_id}/results/bundle.json" in answer
    answer, _html = check(app, still_open)
    assert COUNTED_LIVE.format(event=event_name(app, open_id)) in answer and NOT_FROZEN_YET in answer


@pytest.mark.parametrize("typed", [
    "ZZZZ-ZZZZ-ZZZZ-ZZZZ",          # well formed, never issued
    "0000 0000 0000 0000",
    "ABCD-EFGH-JKMN-PQR",           # one character short
    "ABCD-EFGH-JKMN-PQRST",         # one too many
    "ABCD-EFGH-JKMN-PQR!",          # punctuation is dropped: 15 characters left
    "ÄBCD-EFGH-JKMN-PQRS",          # a letter outside the code alphabet
    "ABCD-EFGH-JKMN-PQRU",          # U is not in the alphabet
    "' OR 1=1 --",
    "x" * 500,
])
def test_unknown_and_malformed_codes_are_not_found(app, web, login_as, typed):
    answer, _html = check(app, typed)
    assert answer is not None and NOT_FOUND in answer
    assert "Yes." not in answer


def test_an_empty_code_asks_for_one(app):
    answer, html = check(app, "   ")
    assert answer is None
    assert "Enter your receipt code." in html


def test_a_code_that_only_looks_like_a_receipt_of_a_frozen_event_is_not_found(app, web, login_as):
    event_id, _category_id, receipt = voted(app, login_as, web)
    close_and_freeze(app, event_id)
    publish(app, event_id)
    changed = receipt[:-1] + ("Z" if receipt[-1] != "Z" else "Y")
    answer, _html = check(app, changed)
    assert NOT_FOUND in answer
    with app.app_context():
        frozen_hashes = json.loads(results.snapshot_of(db.session.get(Event, event_id)).canonical_json)["receipt_hashes"]
        assert sha256_of_receipt(changed) not in frozen_hashes
        assert db.session.scalar(select(Receipt.category_id).where(Receipt.receipt_hash == sha256_of_receipt(changed))) is None
