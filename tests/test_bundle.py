"""The transparency bundle (DESIGN.md, "Transparency bundle") and the CSV table, from a frozen event."""
import copy
import csv
import hashlib
import io
import json
import random
import re

import pytest
from sqlalchemy import select

from tests.results_helpers import EXPECTED, freeze, hand_made_event, tie_event
from voting.accounts.models import User
from voting.ballots.models import Ballot, Participation
from voting.extensions import db
from voting.sealing.models import Receipt
from voting.results import scoring
from voting.results.bundle import ballot_key
from voting.results.models import ResultSnapshot

CATEGORY_KEYS = {
    "id", "name", "kind", "max_approvals", "weights", "vote_normalization", "judge_aggregation", "tie_break",
    "tiers", "criteria", "finalists", "ballots", "paper_totals", "sheets", "recusals", "tie_resolutions",
    "results", "warnings",
}
RESULT_KEYS = {"finalist", "votes", "components", "score", "score_display", "rank", "tier", "tied_with"}
FRACTION = re.compile(r"^-?\d+/\d+$")


def canonical(document):
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def export(runner, tmp_path, event_id, fmt="bundle", name="out", *extra):
    path = tmp_path / name
    result = runner.invoke(args=["voting", "export", str(event_id), "--format", fmt, "--out", str(path), *extra])
    assert result.exit_code == 0, result.output
    return path.read_bytes()


@pytest.fixture
def frozen_hand(app):
    hand = hand_made_event(app)
    freeze(app, hand.event_id, hand.organizer_id)
    return hand


def test_bundle_is_byte_identical_each_time_and_has_every_field(app, runner, tmp_path, frozen_hand):
    hand = frozen_hand
    first = export(runner, tmp_path, hand.event_id, name="a.json")
    second = export(runner, tmp_path, hand.event_id, name="b.json")
    assert first == second
    bundle = json.loads(first)
    assert set(bundle) == {"format", "event", "categories", "receipt_hashes", "sha256", "snapshot_sha256"}
    assert bundle["format"] == "voting-results-bundle/1"
    assert set(bundle["event"]) == {"id", "name", "frozen_at"} and bundle["event"]["id"] == hand.event_id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", bundle["event"]["frozen_at"])
    practice, person = bundle["categories"]
    for category in bundle["categories"]:
        assert set(category) == CATEGORY_KEYS
        assert set(category["weights"]) == {"resident", "official", "judges"}
        for row in category["results"]:
            assert RESULT_KEYS <= set(row)
            assert FRACTION.match(row["score"]) and re.fullmatch(r"\d+\.\d\d", row["score_display"])
            assert set(row["components"]) == {"resident", "official", "judges"}
    assert practice["kind"] == "practice" and person["kind"] == "person"
    assert practice["weights"] == {"resident": 40, "official": 20, "judges": 40}
    assert practice["tie_break"] == ["judges", "resident", "official"]
    assert practice["tiers"] == [{"name": "대상", "count": 1}, {"name": "우수상", "count": 2}]
    c1, c2 = hand.criteria
    assert practice["criteria"] == [{"id": c1, "name": "협치성", "weight": 3, "max": 10},
                                    {"id": c2, "name": "성과", "weight": 2, "max": 10}]
    assert [f["id"] for f in practice["finalists"]] == hand.ids("A", "B", "C")
    assert all("nominee" in f for f in person["finalists"])
    a, b, c = hand.ids("A", "B", "C")
    assert sorted(practice["paper_totals"], key=lambda p: p["group"]) == [
        {"group": "official", "ballots": 2, "approvals": {str(a): 1, str(b): 0, str(c): 1}},
        {"group": "resident", "ballots": 4, "approvals": {str(a): 3, str(b): 1, str(c): 2}},
    ]
    assert len(practice["ballots"]) == 3 + 2 + 2  # resident online and on-site, official online
    assert len(practice["sheets"]) == 5 and len(practice["recusals"]) == 1
    by_finalist = {r["finalist"]: r for r in practice["results"]}
    for letter, (rank, tier, c_res, c_off, j, s) in EXPECTED.items():
        row = by_finalist[hand.finalists[letter]]
        assert (row["rank"], row["tier"], row["score"]) == (rank, tier, scoring.fraction_text(s))
        assert row["components"] == {"resident": scoring.fraction_text(c_res), "official": scoring.fraction_text(c_off),
                                     "judges": scoring.fraction_text(j)}
        assert row["score_display"] == scoring.display(s)
    assert [w["code"] for w in person["warnings"]] == [scoring.COMPONENTS_DROPPED]


def test_canonical_json_and_sha256_verify_independently(app, runner, tmp_path, frozen_hand):
    data = export(runner, tmp_path, frozen_hand.event_id)
    bundle = json.loads(data)
    assert canonical(bundle) == data, "the file is the canonical JSON of the document"
    rest = {key: value for key, value in bundle.items() if key != "sha256"}
    assert hashlib.sha256(canonical(rest)).hexdigest() == bundle["sha256"]
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot))
        assert bundle["snapshot_sha256"] == snapshot.sha256
        stored = json.loads(snapshot.canonical_json)
    # Sorting the ballots back gives the frozen snapshot, whose SHA-256 is snapshot_sha256.
    unshuffled = copy.deepcopy({key: value for key, value in rest.items() if key != "snapshot_sha256"})
    for category in unshuffled["categories"]:
        category["ballots"] = sorted(category["ballots"], key=ballot_key)
    assert unshuffled == stored
    assert hashlib.sha256(canonical(unshuffled)).hexdigest() == bundle["snapshot_sha256"]
    # The shuffle is random.Random(snapshot_sha256) over the categories in order.
    generator = random.Random(bundle["snapshot_sha256"])
    for shuffled, original in zip(bundle["categories"], stored["categories"]):
        ballots = list(original["ballots"])
        generator.shuffle(ballots)
        assert ballots == shuffled["ballots"]


def test_ballots_carry_no_voter_or_receipt_and_judges_are_pseudonyms(app, runner, tmp_path, frozen_hand):
    data = export(runner, tmp_path, frozen_hand.event_id)
    bundle = json.loads(data)
    text = data.decode("utf-8")
    with app.app_context():
        receipts = sorted(db.session.scalars(select(Receipt.receipt_hash)))
        users = db.session.scalars(select(User)).all()
        participations = db.session.scalars(select(Participation)).all()
        assert len(participations) == len(receipts) == 11  # 5 + 4 online, 2 on-site
    assert bundle["receipt_hashes"] == receipts and receipts == sorted(receipts)
    for category in bundle["categories"]:
        for ballot in category["ballots"]:
            assert set(ballot) == {"group", "channel", "approvals"}
            assert ballot["channel"] in ("online", "onsite") and ballot["group"] in ("resident", "official")
            assert all(isinstance(i, int) for i in ballot["approvals"])
        ballots_text = json.dumps(category["ballots"])
        assert not any(receipt in ballots_text for receipt in receipts)
    for user in users:
        assert user.email not in text and user.name not in text
    judges = {s["judge"] for c in bundle["categories"] for s in c["sheets"]} | {
        r["judge"] for c in bundle["categories"] for r in c["recusals"]}
    assert judges == {"J1", "J2"}, "two judges submitted or recused; the draft-only judge is not in it"
    practice = bundle["categories"][0]
    recused = practice["recusals"][0]
    assert recused["finalist"] == frozen_hand.finalists["C"]
    assert {s["judge"] for s in practice["sheets"] if s["finalist"] == frozen_hand.finalists["C"]} != {recused["judge"]}
    assert len({s["judge"] for s in practice["sheets"] if s["finalist"] == frozen_hand.finalists["A"]}) == 2


@pytest.mark.parametrize(("aggregation", "normalization"), [
    ("mean", "top"), ("trimmed", "share"), ("zscore", "minmax"), ("zscore", "top"),
])
def test_every_category_recomputes_from_the_written_bundle(app, runner, tmp_path, aggregation, normalization):
    hand = hand_made_event(app, aggregation=aggregation, normalization=normalization)
    freeze(app, hand.event_id, hand.organizer_id)
    bundle = json.loads(export(runner, tmp_path, hand.event_id))
    for category in bundle["categories"]:
        standings = scoring.compute_standings(**scoring.inputs_from_bundle(category))
        recomputed = scoring.bundle_results(standings)
        written = [{k: v for k, v in row.items() if k != "components_display"} for row in category["results"]]
        assert json.loads(json.dumps(recomputed)) == written
        assert [row["components_display"] for row in category["results"]] == [
            {k: scoring.display(r.component(k)) for k in scoring.COMPONENTS} for r in standings.results]
        assert json.loads(json.dumps(scoring.bundle_warnings(standings))) == category["warnings"]


def test_tie_resolutions_are_in_the_bundle_and_replay(app, runner, tmp_path, web):
    event_id, category_id, ids, email = tie_event(app)
    assert web.login(email).status_code == 302
    web.post(f"/manage/categories/{category_id}/ties", {"finalists": f"{ids[0]},{ids[1]}", "method": "draw", "confirmed": "yes"}, form_url="/")
    freeze(app, event_id)
    bundle = json.loads(export(runner, tmp_path, event_id))
    [resolution] = bundle["categories"][0]["tie_resolutions"]
    assert resolution["method"] == "draw" and resolution["finalists"] == sorted(ids[:2])
    assert tuple(resolution["order"]) == scoring.draw_order(resolution["finalists"], resolution["seed"])
    results = {r["finalist"]: r for r in bundle["categories"][0]["results"]}
    first, second = resolution["order"]
    assert (results[first]["rank"], results[first]["tier"]) == (1, "대상")
    assert (results[second]["rank"], results[second]["tier"]) == (2, "우수상")


def test_csv_has_a_bom_and_parses_back_to_the_same_numbers(app, runner, tmp_path, frozen_hand, client):
    data = export(runner, tmp_path, frozen_hand.event_id, "csv", "results.csv", "--lang", "en")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:5] == ["Category", "Rank", "Award", "Finalist number", "Finalist"]
    bundle = json.loads(export(runner, tmp_path, frozen_hand.event_id))
    expected = []
    for category in bundle["categories"]:
        titles = {f["id"]: f["title"] for f in category["finalists"]}
        for r in category["results"]:
            expected.append([category["name"], str(r["rank"]), r["tier"] or "", str(r["finalist"]), titles[r["finalist"]],
                             str(r["votes"]["resident"]), str(r["votes"]["official"]),
                             r["components_display"]["resident"], r["components_display"]["official"],
                             r["components_display"]["judges"], r["score_display"], r["score"]])
    got = [row[:5] + row[6:13] for row in body]
    assert got == expected
    assert body[0][4] == "홍제천 테마길 다리 꾸미기" and body[0][11] == "78.00"
    korean = export(runner, tmp_path, frozen_hand.event_id, "csv", "ko.csv")
    assert korean.startswith(b"\xef\xbb\xbf") and korean.split(b"\r\n")[1:] == data.split(b"\r\n")[1:]


def test_downloads_match_the_command_and_export_needs_a_frozen_event(app, runner, tmp_path, web):
    hand = hand_made_event(app)
    result = runner.invoke(args=["voting", "export", str(hand.event_id), "--out", str(tmp_path / "x")])
    assert result.exit_code != 0 and "not frozen" in result.output
    freeze(app, hand.event_id, hand.organizer_id)
    assert web.login(hand.organizer_email).status_code == 302
    response = web.client.get(f"/events/{hand.event_id}/results/bundle.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.data == export(runner, tmp_path, hand.event_id)
    response = web.client.get(f"/events/{hand.event_id}/results.csv")
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    assert app.test_client().get(f"/events/{hand.event_id}/results/bundle.json").status_code == 404, "not published"


def test_csv_texts_typed_by_people_cannot_run_as_spreadsheet_formulas():
    from voting.results.bundle import inert

    for formula in ('=HYPERLINK("http://evil.example","클릭")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert inert(formula) == "'" + formula
    for text in ("마을 도서관 협치", "1호 사업", "", "A=B"):
        assert inert(text) == text
