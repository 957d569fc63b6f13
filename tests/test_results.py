"""The results preview, tie decisions, freezing and publishing, checked against the scoring module.

The hand-made event and its arithmetic are in tests/results_helpers.py.
"""
import hashlib
import html as html_module
import random
import re
from fractions import Fraction as F

import pytest
from sqlalchemy import func, select

from tests.results_helpers import CONFIRMED, EXPECTED, EXPECTED_PERSON, hand_made_event, tie_event
from voting.audit.models import AuditEntry
from voting.events.models import Event, EventState
from voting.extensions import db
from voting.results import operations, scoring, sensitivity
from voting.results.models import ResultSnapshot, TieDecision
from voting.results.scoring import (
    CategorySettings,
    Criterion,
    GroupVotes,
    Sheet,
    Tier,
    Weights,
    compute_standings,
    display,
    draw_order,
)

ROW = re.compile(r'<tr id="result-(\d+)-(\d+)" data-finalist="\d+" data-rank="(\d+)" data-tier="([^"]*)" data-score="([^"]*)"(.*?)</tr>', re.S)
CELL = re.compile(r'<td class="([\w-]+)">(?:<strong>)?([^<]*)')


def page(response):
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def table_rows(html, category_id):
    """{finalist id: {"rank", "tier", "score", and each <td> by its class}} of a results table."""
    rows = {}
    for cid, fid, rank, tier, score, rest in ROW.findall(html):
        if int(cid) != category_id:
            continue
        row = {cls: value.strip() for cls, value in CELL.findall(rest)}
        row.update({"rank": int(rank), "tier": tier or None, "score": score})
        rows[int(fid)] = row
    return rows


def channel_cells(html, category_id):
    table = re.search(rf'<table class="channels" id="channels-{category_id}">(.*?)</table>', html, re.S).group(1)
    cells = {}
    for fid, body in re.findall(r'<tr data-finalist="(\d+)">(.*?)</tr>', table, re.S):
        cells[int(fid)] = dict(CELL.findall(body))
    cells["ballots"] = dict(CELL.findall(re.search(r'<tr class="ballots">(.*?)</tr>', table, re.S).group(1)))
    return cells


def login_organizer(web, email):
    assert web.login(email).status_code == 302


# ---------------------------------------------------------------- the preview against scoring


def test_preview_numbers_equal_the_scoring_module_and_the_hand_computation(app, web, english):
    hand = hand_made_event(app)
    login_organizer(web, hand.organizer_email)
    html = page(web.client.get(f"/manage/events/{hand.event_id}/results"))
    rows = table_rows(html, hand.category_id)

    standings = compute_standings(**hand.hand_inputs())
    assert [r.finalist for r in standings.results] == hand.ids("A", "B", "C")
    for letter, (rank, tier, c_res, c_off, j, s) in EXPECTED.items():
        result = standings.result(hand.finalists[letter])
        assert (result.rank, result.tier, result.resident, result.official, result.judges, result.score) == (
            rank, tier, c_res, c_off, j, s)
        row = rows[hand.finalists[letter]]
        assert row["rank"] == rank and row["tier"] == tier
        assert row["score"] == display(s) == row["score"]
        assert (row["resident"], row["official"], row["judges"]) == (display(c_res), display(c_off), display(j))
        assert (int(row["votes-resident"]), int(row["votes-official"])) == (
            result.votes["resident"], result.votes["official"])
    assert rows[hand.finalists["B"]]["score"] == "70.40" and rows[hand.finalists["C"]]["score"] == "66.67"

    # The database path gives exactly the hand-written inputs.
    with app.app_context():
        from voting.events.models import Category

        inputs = operations.inputs_for(db.session.get(Category, hand.category_id))
        expected = hand.hand_inputs()
        assert inputs["finalists"] == expected["finalists"] and inputs["settings"] == expected["settings"]
        for group in ("resident", "official"):
            assert inputs["votes"][group].ballots == expected["votes"][group].ballots
            assert dict(inputs["votes"][group].approvals) == dict(expected["votes"][group].approvals)
        assert sorted((s.judge, s.finalist, dict(s.scores)) for s in inputs["sheets"]) == sorted(
            (s.judge, s.finalist, dict(s.scores)) for s in expected["sheets"])

    # The person category: judges empty and dropped, equal totals decided by the residents' link.
    person = table_rows(html, hand.person_category_id)
    for letter, (rank, tier, c_res, c_off, _j, s) in EXPECTED_PERSON.items():
        row = person[hand.finalists[letter]]
        assert (row["rank"], row["tier"], row["score"]) == (rank, tier, display(s))
        assert (row["resident"], row["official"], row["judges"]) == (display(c_res), display(c_off), "—")


def test_paper_totals_count_in_their_group_and_channels_are_shown(app, web, english):
    hand = hand_made_event(app)
    login_organizer(web, hand.organizer_email)
    html = page(web.client.get(f"/manage/categories/{hand.category_id}/results"))
    cells = channel_cells(html, hand.category_id)
    a, b, c = hand.ids("A", "B", "C")
    #                  online onsite paper total
    assert [cells[a][f"resident-{k}"] for k in ("online", "onsite", "paper", "total")] == ["2", "1", "3", "6"]
    assert [cells[c][f"resident-{k}"] for k in ("online", "onsite", "paper", "total")] == ["1", "1", "2", "4"]
    assert [cells[c][f"official-{k}"] for k in ("online", "onsite", "paper", "total")] == ["1", "0", "1", "2"]
    assert [cells["ballots"][f"resident-{k}"] for k in ("online", "onsite", "paper", "total")] == ["3", "2", "4", "9"]
    assert [cells["ballots"][f"official-{k}"] for k in ("online", "onsite", "paper", "total")] == ["2", "0", "2", "4"]
    assert 'id="sheets-%d">Judges\' sheets counted: 5. Recusals: 1. Sheets still in draft (not counted): 1.' % hand.category_id in html


def test_preview_explains_each_total_in_words_with_the_categorys_weights(app, web, english):
    hand = hand_made_event(app)
    login_organizer(web, hand.organizer_email)
    html = page(web.client.get(f"/manage/categories/{hand.category_id}/results"))
    a = hand.finalists["A"]
    explained = re.search(rf'<details class="explain" id="explain-{hand.category_id}-{a}">(.*?)</details>', html, re.S).group(1)
    text = re.sub(r"\s+", " ", explained)
    assert "6 of 9 ballots approved it; the most approved finalist has 6. 6 ÷ 6 × 100 = 100.00 points." in text
    assert "1 of 4 ballots approved it; the most approved finalist has 2. 1 ÷ 2 × 100 = 50.00 points." in text
    assert "2 judges scored it: 72.00, 68.00 (each out of 100). Their average is 70.00 points." in text
    assert "(40 × 100.00 + 20 × 50.00 + 40 × 70.00) ÷ 100 = 78.00 points." in text
    assert "rank 1, 대상." in text
    assert "the other two scaled to keep 100" in html  # the sensitivity check is on the page
    assert "residents 40, officials 20, judges 40" in html  # the rule with this category's weights

    person = html_module.unescape(page(web.client.get(f"/manage/categories/{hand.person_category_id}/results")))
    p1 = hand.finalists["P1"]
    explained = re.search(rf'id="explain-{hand.person_category_id}-{p1}">(.*?)</details>', person, re.S).group(1)
    text = re.sub(r"\s+", " ", explained)
    assert "(40 × 100.00 + 20 × 0.00) ÷ 60 = 66.67 points." in text
    assert "so the sum is divided by 60, not 100." in text
    # The dropped judges' part is a translated warning, not a code.
    assert "Left out because nothing counts in them (Judges' scores: no judge has submitted a sheet)" in person
    assert "Residents' votes 66.67, Officials' votes 33.33, Judges' scores 0" in person
    assert "components_dropped" in person  # only as the data-code of the warning
    assert ">components_dropped<" not in person


@pytest.mark.parametrize("role", ["resident", "official", "judge"])
def test_only_organizers_see_the_preview(app, web, login_as, role):
    hand = hand_made_event(app)
    login_as(role)
    for url in (f"/manage/events/{hand.event_id}/results", f"/manage/categories/{hand.category_id}/results"):
        assert web.client.get(url).status_code == 403
    response = web.post(f"/manage/categories/{hand.category_id}/ties",
                        {"finalists": ",".join(map(str, hand.ids("A", "B"))), "method": "joint"}, form_url="/")
    assert response.status_code == 403
    assert web.post(f"/manage/events/{hand.event_id}/results/freeze", CONFIRMED, form_url="/").status_code == 403
    assert web.client.get(f"/events/{hand.event_id}/results").status_code == 404, "no interim results"
    with app.app_context():
        assert db.session.get(Event, hand.event_id).state == EventState.CLOSED


def test_anonymous_visitors_are_sent_to_log_in_and_see_no_interim_results(app, client):
    hand = hand_made_event(app)
    response = client.get(f"/manage/events/{hand.event_id}/results")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    for url in (f"/events/{hand.event_id}/results", f"/events/{hand.event_id}/results/bundle.json",
                f"/events/{hand.event_id}/results.csv"):
        assert client.get(url).status_code == 404


# ---------------------------------------------------------------- ties


def tie_decisions(app):
    with app.app_context():
        return [(d.finalists, d.method.value, d.seed, d.drawn_order) for d in db.session.scalars(select(TieDecision))]


def test_an_unresolved_boundary_tie_is_shown_with_a_draw_and_a_joint_award(app, web, english):
    event_id, category_id, ids, email = tie_event(app)
    login_organizer(web, email)
    html = page(web.client.get(f"/manage/events/{event_id}/results"))
    tie = re.search(rf'id="tie-{category_id}-{ids[0]}-{ids[1]}">(.*?)</div>', html, re.S).group(1)
    assert "Tied at rank 1 across 대상 / 우수상: 마을 공유부엌, 골목 정원 (1 of them in 대상)." in re.sub(r"\s+", " ", tie)
    assert 'name="method" value="draw"' in tie and 'name="method" value="joint"' in tie
    rows = table_rows(html, category_id)
    assert rows[ids[0]]["rank"] == rows[ids[1]]["rank"] == 1 and rows[ids[0]]["tier"] is None
    assert rows[ids[2]]["tier"] == "우수상"
    assert 'id="ties-to-settle"' in html


def test_a_recorded_draw_can_be_replayed_from_its_seed(app, web, english):
    event_id, category_id, ids, email = tie_event(app)
    login_organizer(web, email)
    response = web.post(f"/manage/categories/{category_id}/ties",
                        {"finalists": f"{ids[0]},{ids[1]}", "method": "draw", "confirmed": "yes"}, form_url=f"/manage/events/{event_id}/results")
    assert response.status_code == 302
    [(finalists, method, seed, drawn)] = tie_decisions(app)
    assert (finalists, method) == (f"{ids[0]},{ids[1]}", "draw") and re.fullmatch(r"[0-9a-f]{16}", seed)
    order = [int(i) for i in drawn.split(",")]
    assert tuple(order) == draw_order({ids[0], ids[1]}, seed)
    replay = sorted(ids[:2])
    random.Random(seed).shuffle(replay)  # the recipe printed on the page, by hand
    assert replay == order

    html = page(web.client.get(f"/manage/categories/{category_id}/results"))
    assert seed in html and f"random.Random(&#34;{seed}&#34;).shuffle(ids)" in html
    rows = table_rows(html, category_id)
    assert (rows[order[0]]["rank"], rows[order[0]]["tier"]) == (1, "대상")
    assert (rows[order[1]]["rank"], rows[order[1]]["tier"]) == (2, "우수상")
    assert 'id="tie-' not in html
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "results.tie"))
        assert seed in entry.details and entry.actor_id is not None


def test_a_joint_award_gives_both_the_better_tier(app, web, english):
    event_id, category_id, ids, email = tie_event(app)
    login_organizer(web, email)
    response = web.post(f"/manage/categories/{category_id}/ties", {"finalists": f"{ids[0]},{ids[1]}", "method": "joint",
                                                                  "confirmed": "yes"},
                        form_url="/", follow_redirects=True)
    assert "The joint award was recorded." in page(response)
    assert tie_decisions(app) == [(f"{ids[0]},{ids[1]}", "joint", None, None)]
    rows = table_rows(page(web.client.get(f"/manage/events/{event_id}/results")), category_id)
    assert [(rows[i]["rank"], rows[i]["tier"]) for i in ids] == [(1, "대상"), (1, "대상"), (3, "우수상")]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "results.tie")) == 1


def test_a_decision_for_what_is_not_an_unresolved_boundary_tie_is_refused(app, web, english):
    event_id, category_id, ids, email = tie_event(app)
    login_organizer(web, email)
    url = f"/manage/categories/{category_id}/ties"
    for finalists in (f"{ids[0]},{ids[2]}", f"{ids[0]},{ids[1]},{ids[2]}"):
        response = web.post(url, {"finalists": finalists, "method": "draw", "confirmed": "yes"}, form_url="/",
                            follow_redirects=True)
        assert "not an unresolved tie across an award boundary" in page(response)
    assert web.post(url, {"finalists": "abc", "method": "draw"}, form_url="/").status_code == 302
    assert web.post(url, {"finalists": f"{ids[0]},{ids[1]}", "method": "coin"}, form_url="/").status_code == 302
    assert tie_decisions(app) == []
    # Once settled, the same tie cannot be decided again.
    web.post(url, {"finalists": f"{ids[0]},{ids[1]}", "method": "joint", "confirmed": "yes"}, form_url="/")
    response = web.post(url, {"finalists": f"{ids[0]},{ids[1]}", "method": "draw", "confirmed": "yes"}, form_url="/",
                        follow_redirects=True)
    assert "not an unresolved tie" in page(response)
    assert len(tie_decisions(app)) == 1


# ---------------------------------------------------------------- freeze and publish


def test_freeze_is_refused_while_a_boundary_tie_is_unresolved_by_button_and_command(app, web, english, runner):
    event_id, category_id, ids, email = tie_event(app)
    login_organizer(web, email)
    response = web.post(f"/manage/events/{event_id}/results/freeze", CONFIRMED, form_url="/", follow_redirects=True)
    text = page(response)
    assert "Resolve these ties across an award boundary first: 협치 우수사례: 마을 공유부엌, 골목 정원 (rank 1, 대상 / 우수상)." in text
    result = runner.invoke(args=["voting", "freeze", str(event_id)])
    assert result.exit_code != 0
    assert "협치 우수사례: 마을 공유부엌, 골목 정원" in result.output
    with app.app_context():
        assert db.session.get(Event, event_id).state == EventState.CLOSED
        assert db.session.scalar(select(func.count()).select_from(ResultSnapshot)) == 0


def test_freeze_is_refused_while_voting_is_possible(app, web, english, runner):
    event_id, _category_id, _ids, email = tie_event(app, state="open")  # in its voting window
    login_organizer(web, email)
    response = web.post(f"/manage/events/{event_id}/results/freeze", CONFIRMED, form_url="/", follow_redirects=True)
    assert "Voting is still open." in page(response)
    assert "Voting is still open." in runner.invoke(args=["voting", "freeze", str(event_id)]).output
    assert 'id="close-button"' in page(web.client.get(f"/manage/events/{event_id}/results"))
    with app.app_context():
        assert db.session.get(Event, event_id).state == EventState.OPEN
        assert db.session.scalar(select(func.count()).select_from(ResultSnapshot)) == 0


def test_an_open_event_freezes_once_its_voting_window_is_over_and_no_onsite_session_is_open(app, runner):
    from tests import factories
    from voting.ballots.models import OnsiteSession
    from voting.database import utcnow

    hand = hand_made_event(app, close=False)
    with app.app_context():
        factories.set_phase(db.session.get(Event, hand.event_id), "judging")  # voting ended two days ago
        db.session.add(OnsiteSession(category_id=hand.person_category_id, opened_at=utcnow()))
        db.session.commit()
    result = runner.invoke(args=["voting", "freeze", str(hand.event_id)])
    assert result.exit_code != 0 and "Voting is still open." in result.output, "on-site voting is open"
    with app.app_context():
        for session in db.session.scalars(select(OnsiteSession).where(OnsiteSession.closed_at.is_(None))):
            session.closed_at = utcnow()
        db.session.commit()
    result = runner.invoke(args=["voting", "freeze", str(hand.event_id)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(Event, hand.event_id).state == EventState.FROZEN


def test_freeze_stores_the_canonical_snapshot_and_publish_opens_the_results_page(app, web, english):
    hand = hand_made_event(app)
    client = app.test_client()  # an anonymous visitor
    login_organizer(web, hand.organizer_email)
    response = web.post(f"/manage/events/{hand.event_id}/results/freeze", CONFIRMED, form_url="/", follow_redirects=True)
    html = page(response)
    with app.app_context():
        event = db.session.get(Event, hand.event_id)
        snapshot = db.session.scalar(select(ResultSnapshot))
        assert event.state == EventState.FROZEN and snapshot.event_id == event.id
        assert snapshot.frozen_by_id == hand.organizer_id and snapshot.published_at is None
        data = snapshot.canonical_json.encode("utf-8")
        assert hashlib.sha256(data).hexdigest() == snapshot.sha256
        import json

        document = json.loads(data)
        assert json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8") == data
        assert document["format"] == "voting-results-bundle/1" and document["event"]["id"] == event.id
        sha = snapshot.sha256
        assert db.session.scalar(select(AuditEntry.details).where(AuditEntry.action == "results.freeze")).count(sha) == 1
    assert f"The results are frozen. SHA-256: {sha}" in html
    assert f'<code id="snapshot-sha256">{sha}</code>' in html
    rows = table_rows(html, hand.category_id)
    assert rows[hand.finalists["B"]]["score"] == "70.40", "the frozen preview shows the same numbers"
    single = page(web.client.get(f"/manage/categories/{hand.category_id}/results"))
    assert table_rows(single, hand.category_id) == rows and 'name="method"' not in single

    # Frozen, not published: organizers see the results page, nobody else.
    assert client.get(f"/events/{hand.event_id}/results").status_code == 404
    organizer_view = page(web.client.get(f"/events/{hand.event_id}/results"))
    assert 'id="not-published"' in organizer_view

    response = web.post(f"/manage/events/{hand.event_id}/results/publish", CONFIRMED, form_url="/")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/events/{hand.event_id}/results")
    with app.app_context():
        assert db.session.get(Event, hand.event_id).state == EventState.PUBLISHED
        assert db.session.scalar(select(ResultSnapshot.published_at)) is not None
    public = page(client.get(f"/events/{hand.event_id}/results"))
    assert 'id="not-published"' not in public
    rows = table_rows(public, hand.category_id)
    assert {fid: (r["rank"], r["tier"], r["score"]) for fid, r in rows.items()} == {
        hand.finalists[k]: (v[0], v[1], display(v[5])) for k, v in EXPECTED.items()}
    assert sha in public and "홍제천 테마길 다리 꾸미기" in public
    assert f'href="/events/{hand.event_id}/results"' in page(client.get(f"/events/{hand.event_id}"))
    # Publishing twice is refused, and so is freezing again.
    response = web.post(f"/manage/events/{hand.event_id}/results/publish", CONFIRMED, form_url="/", follow_redirects=True)
    assert "already published" in page(response)
    response = web.post(f"/manage/events/{hand.event_id}/results/freeze", CONFIRMED, form_url="/", follow_redirects=True)
    assert "already frozen" in page(response)


def test_freeze_command_prints_the_sha256(app, runner):
    hand = hand_made_event(app)
    result = runner.invoke(args=["voting", "freeze", str(hand.event_id)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        sha = db.session.scalar(select(ResultSnapshot.sha256))
        assert db.session.get(Event, hand.event_id).state == EventState.FROZEN
    assert result.output.strip() == f"event {hand.event_id} frozen: sha256 {sha}"
    assert runner.invoke(args=["voting", "freeze", "999999"]).exit_code != 0


# ---------------------------------------------------------------- sensitivity


def two_finalists(weights, resident=(2, {"A": 2, "B": 1}), judges=None):
    settings = CategorySettings(weights=Weights(*weights), tiers=(Tier("대상", 1),),
                                criteria=(Criterion("c", 1, 100),))
    judges = judges or {"A": 40, "B": 88}
    inputs = {"settings": settings, "finalists": ["A", "B"],
              "votes": {"resident": GroupVotes(*resident), "official": GroupVotes()},
              "sheets": [Sheet("j1", i, {"c": x}) for i, x in judges.items()], "resolutions": []}
    return inputs, compute_standings(**inputs)


def test_sensitivity_names_the_weight_move_that_flips_the_winner():
    # 50/0/50: A = (50*100 + 50*40)/100 = 70, B = (50*50 + 50*88)/100 = 69 -> A wins.
    # residents -5 -> 45/0/55: A = (4500 + 2200)/100 = 67, B = (2250 + 4840)/100 = 70.9 -> B wins.
    # residents +5 -> 55/0/45: A = 73, B = 27.5 + 39.6 = 67.1;  judges +5 is residents -5 here.
    # officials +5 -> 47.5/5/47.5 (officials empty: dropped, S as with 50/50) -> no change.
    # share: C_res A 100, B 50 (2 ballots) as top -> no change; minmax: A 100, B 0 -> A still wins.
    inputs, standings = two_finalists((50, 0, 50))
    assert standings.result("A").tier == "대상"
    result = sensitivity.check(inputs, standings)
    assert not result.robust and result.winners == ("A",)
    flips = {(c.scenario.kind, c.scenario.component, c.scenario.delta): (c.gained, c.lost) for c in result.flips}
    assert flips == {("weight", "resident", -5): (("B",), ("A",)), ("weight", "judges", 5): (("B",), ("A",))}
    moved = next(c.scenario for c in result.flips if c.scenario.component == "resident")
    assert moved.weights == {"resident": F(45), "official": F(0), "judges": F(55)}
    assert result.skipped == (("official", -5),)  # 0 - 5 leaves the range
    assert len(result.checked) == 5 + 2


def test_sensitivity_robust_and_the_other_weights_scale_in_proportion():
    inputs, standings = two_finalists((40, 20, 40), judges={"A": 90, "B": 10})
    result = sensitivity.check(inputs, standings)
    assert result.robust and not result.flips
    assert sensitivity.moved_weights(Weights(40, 20, 40), "resident", 5) == {
        "resident": F(45), "official": F(55, 3), "judges": F(110, 3)}
    assert sensitivity.moved_weights(Weights(100, 0, 0), "resident", -5) is None
    assert sensitivity.moved_weights(Weights(100, 0, 0), "resident", 5) is None


def test_rank_with_the_same_weights_gives_the_same_standings(app):
    hand = hand_made_event(app, close=False)
    with app.app_context():
        from voting.events.models import Category

        category = db.session.get(Category, hand.category_id)
        standings = operations.standings(category)
        results, unresolved = scoring.rank_with_weights(standings, {"resident": 40, "official": 20, "judges": 40})
        assert results == standings.results and unresolved == standings.unresolved_ties
        # Doubling every weight changes nothing either: S is a weighted average.
        results, _ = scoring.rank_with_weights(standings, {"resident": 80, "official": 40, "judges": 80})
        assert results == standings.results


def test_preview_shows_which_change_flips_the_winners(app, web, english):
    hand = hand_made_event(app)
    login_organizer(web, hand.organizer_email)
    html = html_module.unescape(page(web.client.get(f"/manage/events/{hand.event_id}/results")))
    practice = re.search(rf'id="sensitivity-{hand.category_id}" data-robust="(\w+)"', html).group(1)
    assert practice == "true", "all three finalists get an award whatever the weights"
    person = re.search(rf'id="sensitivity-{hand.person_category_id}" data-robust="(\w+)">(.*?)</div>', html, re.S)
    # P1 and P2 have equal totals (200/3) at 40/20/40 with judges empty; officials +5 -> 37.5/25/37.5:
    # P1 = 37.5*100/62.5 = 60, P2 = (37.5*50 + 25*100)/62.5 = 70, so P2 would win.
    assert person.group(1) == "false"
    assert "Officials' votes +5 points" in person.group(2) and "would win: 작은 도서관 주민 모임 대표" in person.group(2)
