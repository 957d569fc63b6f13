"""`voting verify-bundle FILE` and voting/results/verify.py: anyone holding a bundle recomputes it.

Bundles are exported from frozen events: the hand-made event of tests/results_helpers.py (practice
and person categories, online, on-site and paper votes of both groups, sheets and a recusal, and
in the person category an empty judges' component), and the tie event settled once by a recorded
draw and once by a joint award. Each is checked as written, then tampered with in one way at a
time: each tampering must give exit 1 and a MISMATCH line that names what no longer adds up.
"""
import copy
import hashlib
import json
from dataclasses import dataclass

import pytest

from tests.conftest import app_on_empty_tables
from tests.results_helpers import freeze, hand_made_event, organizer, tie_event
from voting.events.models import Category
from voting.extensions import db
from voting.results import operations as results
from voting.results.bundle import frozen_results
from voting.results.verify import BundleCheck, check_bundle, check_category, read_bundle


@pytest.fixture(scope="module")
def app(migrated_database, smtp_server):
    """One app for the module: the three events are frozen once and their bundles only read."""
    yield from app_on_empty_tables(migrated_database, smtp_server)


@dataclass
class Bundles:
    hand: object            # results_helpers.HandEvent
    hand_bytes: bytes
    draw_bytes: bytes
    draw_category: int
    draw_ids: list
    joint_bytes: bytes
    joint_category: int
    joint_ids: list

    def document(self, which="hand"):
        return json.loads(getattr(self, f"{which}_bytes"))


def settled_tie(app, method):
    event_id, category_id, ids, email = tie_event(app)
    with app.app_context():
        category = db.session.get(Category, category_id)
        results.decide_tie(category, ids[:2], method, organizer(app, email))
        db.session.commit()
    freeze(app, event_id)
    with app.app_context():
        return frozen_results(event_id).bundle_bytes, category_id, ids


@pytest.fixture(scope="module")
def bundles(app):
    hand = hand_made_event(app)
    freeze(app, hand.event_id, hand.organizer_id)
    with app.app_context():
        hand_bytes = frozen_results(hand.event_id).bundle_bytes
    draw_bytes, draw_category, draw_ids = settled_tie(app, "draw")
    joint_bytes, joint_category, joint_ids = settled_tie(app, "joint")
    return Bundles(hand, hand_bytes, draw_bytes, draw_category, draw_ids, joint_bytes, joint_category, joint_ids)


def canonical(document):
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def rehash(document):
    """What a careful forger does: the bundle's sha256 recomputed after the change."""
    rest = {key: value for key, value in document.items() if key != "sha256"}
    document["sha256"] = hashlib.sha256(canonical(rest)).hexdigest()
    return document


def verify(runner, tmp_path, data, name="bundle.json"):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode("utf-8"))
    result = runner.invoke(args=["voting", "verify-bundle", str(path)])
    assert "Traceback" not in result.output
    return result, result.output.splitlines()


def category_of(document, category_id):
    return next(c for c in document["categories"] if c["id"] == category_id)


def label(category):
    return f"category {category['id']} ({category['name']})"


def mismatch_lines(lines, category):
    return [line for line in lines if line.startswith(f"MISMATCH {label(category)}: ")]


def sha_line(lines):
    return [line for line in lines if line.startswith("MISMATCH bundle: sha256 is ")]


def assert_refused(result, lines):
    assert result.exit_code == 1, result.output
    assert lines[-1] == "the bundle does NOT recompute to its results"
    assert not any(line.startswith("the bundle recomputes") for line in lines)


# ---------------------------------------------------------------- bundles as exported


@pytest.mark.parametrize("which", ["hand", "draw", "joint"])
def test_an_exported_bundle_matches_category_by_category(runner, tmp_path, bundles, which):
    document = bundles.document(which)
    result, lines = verify(runner, tmp_path, getattr(bundles, f"{which}_bytes"))
    assert result.exit_code == 0, result.output
    for category in document["categories"]:
        assert f"match {label(category)}: {len(category['finalists'])} finalists recomputed" in lines
    assert not any("MISMATCH" in line for line in lines)
    assert lines[-1] == (f"the bundle recomputes to its results: {len(document['categories'])} categories, "
                         f"sha256 {document['sha256']}")


def test_the_hand_made_bundle_covers_what_the_verifier_must_handle(bundles):
    """The inputs the match above stands for: both kinds, paper totals, an empty component."""
    document = bundles.document()
    practice = category_of(document, bundles.hand.category_id)
    person = category_of(document, bundles.hand.person_category_id)
    assert (practice["kind"], person["kind"]) == ("practice", "person")
    assert {p["group"] for p in practice["paper_totals"]} == {"resident", "official"}
    assert {(b["group"], b["channel"]) for b in practice["ballots"]} == {
        ("resident", "online"), ("resident", "onsite"), ("official", "online")}
    assert practice["sheets"] and practice["recusals"]
    assert person["sheets"] == [] and all(row["components"]["judges"] is None for row in person["results"])
    assert any(w["code"] == "components_dropped" for w in person["warnings"])


def test_the_settled_ties_are_in_their_bundles(bundles):
    draw = category_of(bundles.document("draw"), bundles.draw_category)
    [decision] = draw["tie_resolutions"]
    assert decision["method"] == "draw" and decision["seed"] and sorted(decision["order"]) == sorted(bundles.draw_ids[:2])
    assert [row["rank"] for row in draw["results"]] == [1, 2, 3]
    joint = category_of(bundles.document("joint"), bundles.joint_category)
    [decision] = joint["tie_resolutions"]
    assert decision["method"] == "joint" and decision["seed"] is None
    assert [(row["rank"], row["tier"]) for row in joint["results"]] == [(1, "대상"), (1, "대상"), (3, "우수상")]


def test_a_bundle_with_a_byte_order_mark_is_read(runner, tmp_path, bundles):
    result, _lines = verify(runner, tmp_path, b"\xef\xbb\xbf" + bundles.hand_bytes)
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- tampering


def first_ballot(category, approvals):
    return next(b for b in category["ballots"] if b["approvals"] == approvals)


def test_a_changed_ballot_is_caught_by_the_recount_and_by_the_sha256(runner, tmp_path, bundles):
    a, b = bundles.hand.ids("A", "B")
    document = bundles.document()
    practice = category_of(document, bundles.hand.category_id)
    first_ballot(practice, [a])["approvals"] = [b]          # one resident's [A] becomes [B]
    result, lines = verify(runner, tmp_path, document)
    assert_refused(result, lines)
    assert len(sha_line(lines)) == 1
    found = mismatch_lines(lines, practice)
    assert any(line.startswith(f"MISMATCH {label(practice)}: finalist {a} votes") for line in found), found
    assert any(line.startswith(f"MISMATCH {label(practice)}: finalist {b} votes") for line in found), found
    person = category_of(document, bundles.hand.person_category_id)
    assert f"match {label(person)}: 2 finalists recomputed" in lines
    # With the sha256 made to fit, the recount still catches it.
    result, lines = verify(runner, tmp_path, rehash(document), name="rehashed.json")
    assert_refused(result, lines)
    assert sha_line(lines) == [] and mismatch_lines(lines, practice) == found


def test_a_changed_stated_score_is_caught_without_touching_ballots(runner, tmp_path, bundles):
    document = bundles.document()
    practice = category_of(document, bundles.hand.category_id)
    row = practice["results"][1]                             # B, 352/5 (70.40)
    assert row["finalist"] == bundles.hand.finalists["B"]
    row["score"], row["score_display"] = "80/1", "80.00"
    result, lines = verify(runner, tmp_path, rehash(document))
    assert_refused(result, lines)
    assert sha_line(lines) == []
    assert mismatch_lines(lines, practice) == [
        f"MISMATCH {label(practice)}: finalist {row['finalist']} score: bundle '80/1', recomputed '352/5'",
        f"MISMATCH {label(practice)}: finalist {row['finalist']} score_display: bundle '80.00', recomputed '70.40'",
    ]


def test_two_results_in_swapped_order_are_caught(runner, tmp_path, bundles):
    a, b, c = bundles.hand.ids("A", "B", "C")
    document = bundles.document()
    practice = category_of(document, bundles.hand.category_id)
    practice["results"][0], practice["results"][1] = practice["results"][1], practice["results"][0]
    result, lines = verify(runner, tmp_path, rehash(document))
    assert_refused(result, lines)
    [line] = mismatch_lines(lines, practice)
    assert line == (f"MISMATCH {label(practice)}: results are listed in the order {[str(b), str(a), str(c)]}, "
                    f"recomputed rank order is {[str(a), str(b), str(c)]}")


def test_a_changed_weight_is_caught(runner, tmp_path, bundles):
    document = bundles.document()
    practice = category_of(document, bundles.hand.category_id)
    practice["weights"] = {"resident": 20, "official": 40, "judges": 40}
    result, lines = verify(runner, tmp_path, rehash(document))
    assert_refused(result, lines)
    found = mismatch_lines(lines, practice)
    a, b = bundles.hand.ids("A", "B")
    # A (20*100 + 40*50 + 40*70) / 100 = 68, B (20*50 + 40*100 + 40*76) / 100 = 80.40, C 220/3: A is now 3rd.
    assert f"MISMATCH {label(practice)}: finalist {a} score: bundle '78/1', recomputed '68/1'" in found, found
    assert f"MISMATCH {label(practice)}: finalist {b} score: bundle '352/5', recomputed '402/5'" in found, found
    assert f"MISMATCH {label(practice)}: finalist {a} rank: bundle 1, recomputed 3" in found, found


def test_an_impossible_weight_is_reported_not_crashed_on(runner, tmp_path, bundles):
    document = bundles.document()
    practice = category_of(document, bundles.hand.category_id)
    practice["weights"]["resident"] = 41                     # no longer sums to 100
    result, lines = verify(runner, tmp_path, rehash(document))
    assert_refused(result, lines)
    [line] = mismatch_lines(lines, practice)
    assert line.startswith(f"MISMATCH {label(practice)}: cannot be recomputed: ") and "100" in line


def test_a_dropped_result_is_caught(runner, tmp_path, bundles):
    c = bundles.hand.finalists["C"]
    document = bundles.document()
    practice = category_of(document, bundles.hand.category_id)
    practice["results"] = [row for row in practice["results"] if row["finalist"] != c]
    result, lines = verify(runner, tmp_path, rehash(document))
    assert_refused(result, lines)
    assert mismatch_lines(lines, practice) == [f"MISMATCH {label(practice)}: finalist {c}: missing from the bundle's results"]


def test_changed_paper_totals_are_caught(runner, tmp_path, bundles):
    a = bundles.hand.finalists["A"]
    document = bundles.document()
    practice = category_of(document, bundles.hand.category_id)
    resident_paper = next(p for p in practice["paper_totals"] if p["group"] == "resident")
    resident_paper["approvals"][str(a)] -= 2
    result, lines = verify(runner, tmp_path, rehash(document))
    assert_refused(result, lines)
    assert any(line.startswith(f"MISMATCH {label(practice)}: finalist {a} votes: ") for line in lines), lines


def test_a_changed_sha256_alone_is_caught_and_every_category_still_matches(runner, tmp_path, bundles):
    document = bundles.document()
    document["sha256"] = "0" * 64
    result, lines = verify(runner, tmp_path, document)
    assert_refused(result, lines)
    [line] = sha_line(lines)
    expected = json.loads(bundles.hand_bytes)["sha256"]
    assert line == f"MISMATCH bundle: sha256 is '{'0' * 64}', the canonical JSON hashes to {expected}"
    for category in document["categories"]:
        assert mismatch_lines(lines, category) == []
        assert f"match {label(category)}: {len(category['finalists'])} finalists recomputed" in lines


def test_a_replayed_draw_that_does_not_fit_its_seed_is_caught(runner, tmp_path, bundles):
    document = bundles.document("draw")
    category = category_of(document, bundles.draw_category)
    decision = category["tie_resolutions"][0]
    decision["order"] = list(reversed(decision["order"]))   # the draw "came out" the other way
    result, lines = verify(runner, tmp_path, rehash(document))
    assert_refused(result, lines)
    [line] = mismatch_lines(lines, category)
    assert "cannot be recomputed" in line and "does not replay from its seed" in line


def test_a_dropped_joint_award_decision_is_caught(runner, tmp_path, bundles):
    first, second, _third = bundles.joint_ids
    document = bundles.document("joint")
    category = category_of(document, bundles.joint_category)
    category["tie_resolutions"] = []
    result, lines = verify(runner, tmp_path, rehash(document))
    assert_refused(result, lines)
    found = mismatch_lines(lines, category)
    assert f"MISMATCH {label(category)}: finalist {first} tier: bundle '대상', recomputed None" in found, found
    assert f"MISMATCH {label(category)}: finalist {second} tier: bundle '대상', recomputed None" in found, found


def test_unsorted_receipt_hashes_are_caught(runner, tmp_path, bundles):
    document = bundles.document()
    assert len(document["receipt_hashes"]) >= 2
    document["receipt_hashes"].reverse()
    result, lines = verify(runner, tmp_path, rehash(document))
    assert_refused(result, lines)
    assert "MISMATCH bundle: receipt_hashes are not sorted and distinct" in lines


# ---------------------------------------------------------------- files that are no bundle


@pytest.mark.parametrize("data, message", [
    (b"this is not json {", "not a JSON document"),
    (b"\xff\xfe\x00garbage", "not a JSON document"),
    (b"", "not a JSON document"),
    (b"[1, 2, 3]", "not a JSON object"),
    (b'"voting-results-bundle/1"', "not a JSON object"),
])
def test_a_file_that_is_not_a_json_object_is_a_clear_error(runner, tmp_path, data, message):
    result, _lines = verify(runner, tmp_path, data, name="odd.json")
    assert result.exit_code in (1, 2)
    assert isinstance(result.exception, SystemExit)
    assert "Error:" in result.output and message in result.output and "odd.json" in result.output


def test_a_missing_file_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(args=["voting", "verify-bundle", str(tmp_path / "nowhere.json")])
    assert result.exit_code == 2 and "nowhere.json" in result.output and "Traceback" not in result.output


def test_a_json_object_that_is_no_bundle_is_refused(runner, tmp_path):
    result, lines = verify(runner, tmp_path, {"hello": "world"})
    assert_refused(result, lines)
    assert any(line.startswith("MISMATCH bundle: format is None") for line in lines)
    assert "MISMATCH bundle: no categories" in lines


# ---------------------------------------------------------------- check_bundle itself


def test_check_bundle_of_the_exported_bundles_matches(bundles):
    for which in ("hand", "draw", "joint"):
        document = bundles.document(which)
        check = check_bundle(document)
        assert isinstance(check, BundleCheck)
        assert check.matches and check.problems == []
        assert [(c.id, c.name, c.finalists, c.mismatches) for c in check.categories] == [
            (c["id"], c["name"], len(c["finalists"]), []) for c in document["categories"]]


def test_check_bundle_reports_each_problem_separately(bundles):
    a, b = bundles.hand.ids("A", "B")
    document = bundles.document()
    document["format"] = "voting-results-bundle/2"
    practice = category_of(document, bundles.hand.category_id)
    first_ballot(practice, [a])["approvals"] = [b]
    check = check_bundle(document)
    assert not check.matches
    assert check.problems[0] == "format is 'voting-results-bundle/2', expected 'voting-results-bundle/1'"
    assert check.problems[1].startswith("sha256 is ")
    practice_check, person_check = check.categories
    assert practice_check.id == bundles.hand.category_id and not practice_check.matches
    assert person_check.matches
    assert f"finalist {a} votes: bundle {{'official': 1, 'resident': 6}}, recomputed {{'official': 1, 'resident': 5}}" \
        in practice_check.mismatches, practice_check.mismatches


def test_check_bundle_does_not_change_the_document(bundles):
    document = bundles.document()
    before = copy.deepcopy(document)
    check_bundle(document)
    assert document == before


def test_check_category_of_a_broken_category_says_it_cannot_be_recomputed(bundles):
    category = copy.deepcopy(category_of(bundles.document(), bundles.hand.category_id))
    del category["finalists"]
    check = check_category(category)
    assert not check.matches and len(check.mismatches) == 1
    assert check.mismatches[0].startswith("cannot be recomputed: KeyError(")


def test_check_category_flags_a_result_for_a_nomination_that_is_not_a_finalist(bundles):
    category = copy.deepcopy(category_of(bundles.document(), bundles.hand.category_id))
    extra = dict(category["results"][-1], finalist=999999)
    category["results"].append(extra)
    check = check_category(category)
    assert check.mismatches == ["finalist 999999: in the bundle's results but not a finalist"]


def test_read_bundle(bundles):
    assert read_bundle(bundles.hand_bytes) == bundles.document()
    assert read_bundle(b"\xef\xbb\xbf" + bundles.hand_bytes) == bundles.document()
    for data in (b"nope", b"[]", b"null", b"\x80\x81"):
        with pytest.raises(ValueError):
            read_bundle(data)



@pytest.mark.parametrize("break_it", [
    pytest.param(lambda d, c: d.update(categories=[1]), id="a-category-that-is-a-number"),
    pytest.param(lambda d, c: c.update(results=[1]), id="a-result-that-is-a-number"),
    pytest.param(lambda d, c: c["paper_totals"][0].update(approvals=[1, 2]), id="paper-approvals-as-a-list"),
    pytest.param(lambda d, c: d.update(receipt_hashes=None), id="receipt-hashes-null"),
    pytest.param(lambda d, c: d.update(receipt_hashes=["ab", 1]), id="receipt-hashes-of-mixed-types"),
])
def test_a_bundle_with_parts_of_the_wrong_shape_is_refused_without_a_traceback(runner, tmp_path, bundles, break_it):
    document = bundles.document()
    break_it(document, category_of(document, bundles.hand.category_id))
    result, lines = verify(runner, tmp_path, rehash(document), name="odd-shape.json")
    assert isinstance(result.exception, SystemExit) and result.exit_code in (1, 2), repr(result.exception)
    assert any(line.startswith(("MISMATCH", "Error:")) for line in lines), lines


def test_a_ballot_of_an_unknown_group_is_not_silently_ignored(runner, tmp_path, bundles):
    a = bundles.hand.finalists["A"]
    document = bundles.document()
    practice = category_of(document, bundles.hand.category_id)
    practice["ballots"].append({"group": "visitor", "channel": "online", "approvals": [a]})
    result, lines = verify(runner, tmp_path, rehash(document))
    assert_refused(result, lines)
    assert mismatch_lines(lines, practice)


@pytest.mark.parametrize("ballot, message", [
    ({"group": "official", "channel": "online", "approvals": ["C", "C"]}, "at most once"),
    ({"group": "official", "channel": "online", "approvals": [999999]}, "unknown finalists"),
])
def test_a_ballot_that_cannot_have_been_cast_is_refused(runner, tmp_path, bundles, ballot, message):
    document = bundles.document()
    practice = category_of(document, bundles.hand.category_id)
    ballot = dict(ballot, approvals=[bundles.hand.finalists.get(x, x) for x in ballot["approvals"]])
    practice["ballots"].append(ballot)
    result, lines = verify(runner, tmp_path, rehash(document))
    assert_refused(result, lines)
    [line] = mismatch_lines(lines, practice)
    assert "cannot be recomputed" in line and message in line
