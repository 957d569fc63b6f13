"""The results rule of DESIGN.md, checked against hand-computed cases.

Every case writes its arithmetic out; values are exact Fractions unless the category uses
`zscore`.  No app, no database: plain inputs to voting.results.scoring.
"""
import json
import random
from fractions import Fraction as F

import pytest

from voting.results.scoring import (
    ALL_COMPONENTS_EMPTY,
    COMPONENTS_DROPPED,
    MISSING_JUDGE_SCORES,
    TIE_RESOLUTION_UNUSED,
    CategorySettings,
    Criterion,
    GroupVotes,
    Sheet,
    TieResolution,
    Tier,
    Weights,
    bundle_results,
    bundle_warnings,
    compute_standings,
    display,
    draw_order,
    explain,
    fraction_text,
    inputs_from_bundle,
    parse_fraction,
    tally,
)

# One criterion, weight 1, max 100: T_ij is simply the score given.
PLAIN = (Criterion("c", 1, 100),)
# The demo rubric shape: 협치성 w3, 성과 w2, each out of 10; sum_c w_c*max_c = 30 + 20 = 50.
RUBRIC = (Criterion("협치성", 3, 10), Criterion("성과", 2, 10))


def settings(weights=(40, 20, 40), **kw):
    kw.setdefault("criteria", PLAIN)
    return CategorySettings(weights=Weights(*weights), **kw)


def plain_sheets(table):
    """{judge: {finalist: score}} -> sheets on the one-criterion rubric."""
    return [Sheet(j, i, {"c": x}) for j, row in table.items() for i, x in row.items()]


def votes(resident=(0, {}), official=(0, {})):
    return {"resident": GroupVotes(*resident), "official": GroupVotes(*official)}


def scores(standings):
    return {r.finalist: r.score for r in standings.results}


def ranks(standings):
    return {r.finalist: r.rank for r in standings.results}


def tiers(standings):
    return {r.finalist: r.tier for r in standings.results}


# --- votes -----------------------------------------------------------------------------

def test_top_normalization_with_weighted_rubric_and_explanation():
    """Weights 40/20/40, `top`, `mean`, rubric 협치성 w3/10 + 성과 w2/10.

    Resident B=10, v = A 6, B 8, C 2 -> max 8:
        C_res(A) = 100*6/8 = 75, C_res(B) = 100*8/8 = 100, C_res(C) = 100*2/8 = 25
    Official B=5, v = A 5, B 1, C 0 -> max 5:
        C_off(A) = 100, C_off(B) = 100*1/5 = 20, C_off(C) = 0
    Sheets, T = 100*(3*x1 + 2*x2)/50:
        (8,6) -> 100*36/50 = 72; (10,5) -> 100*40/50 = 80; (6,4) -> 100*26/50 = 52
        J(A) = (72+80)/2 = 76, J(B) = (52+72)/2 = 62, J(C) = (80+80)/2 = 80
    S(A) = (40*75 + 20*100 + 40*76)/100 = (3000+2000+3040)/100 = 80.4 = 402/5
    S(B) = (40*100 + 20*20 + 40*62)/100 = (4000+400+2480)/100 = 68.8 = 344/5
    S(C) = (40*25 + 20*0 + 40*80)/100 = (1000+0+3200)/100 = 42
    Tiers 대상 1, 최우수상 1: A 대상, B 최우수상, C none.
    """
    s = CategorySettings(weights=Weights(40, 20, 40), criteria=RUBRIC,
                         tiers=(Tier("대상", 1), Tier("최우수상", 1)))
    sheets = [
        Sheet("J1", "A", {"협치성": 8, "성과": 6}), Sheet("J2", "A", {"협치성": 10, "성과": 5}),
        Sheet("J1", "B", {"협치성": 6, "성과": 4}), Sheet("J2", "B", {"협치성": 8, "성과": 6}),
        Sheet("J1", "C", {"협치성": 10, "성과": 5}), Sheet("J2", "C", {"협치성": 10, "성과": 5}),
    ]
    st = compute_standings(s, ["A", "B", "C"],
                           votes((10, {"A": 6, "B": 8, "C": 2}), (5, {"A": 5, "B": 1})), sheets)
    a, b, c = (st.result(i) for i in "ABC")
    assert (a.resident, b.resident, c.resident) == (F(75), F(100), F(25))
    assert (a.official, b.official, c.official) == (F(100), F(20), F(0))
    assert (a.judges, b.judges, c.judges) == (F(76), F(62), F(80))
    assert [t.total for t in a.judge_detail.sheets] == [F(72), F(80)]
    assert scores(st) == {"A": F(402, 5), "B": F(344, 5), "C": F(42)}
    assert ranks(st) == {"A": 1, "B": 2, "C": 3}
    assert tiers(st) == {"A": "대상", "B": "최우수상", "C": None}
    assert [r.finalist for r in st.results] == ["A", "B", "C"]
    assert dict(a.votes) == {"resident": 6, "official": 5}
    assert st.warnings == () and st.can_freeze
    assert display(a.score) == "80.40"

    # The explanation: products 40*75 = 3000, 20*100 = 2000, 40*76 = 3040; 8040/100.
    ex = explain(st, "A")
    assert [(t.component, t.weight, t.value, t.product, t.included) for t in ex.terms] == [
        ("resident", 40, F(75), F(3000), True),
        ("official", 20, F(100), F(2000), True),
        ("judges", 40, F(76), F(3040), True),
    ]
    assert (ex.weight_sum, ex.product_sum, ex.score) == (100, F(8040), F(402, 5))
    assert ex.product_sum / ex.weight_sum == ex.score
    res = ex.votes["resident"]
    assert (res.approvals, res.ballots, res.offset, res.denominator, res.value) == (6, 10, 0, 8, F(75))


def test_share_normalization_and_zero_weight_components_are_not_warned():
    """Weights 100/0/0, `share`.  Resident B=10 ballots of one approval, v = A 6, B 3, C 1:
        C_res(A) = 100*6/10 = 60, C_res(B) = 100*3/10 = 30, C_res(C) = 100*1/10 = 10.
    Official B=4, v = A 4: C_off(A) = 100*4/4 = 100 (computed, but weight 0).
    Judges: no sheets -> empty, but its weight is 0: not dropped, no warning.
    S = 100*C_res/100: A 60, B 30, C 10.
    """
    st = compute_standings(settings((100, 0, 0), vote_normalization="share"), ["A", "B", "C"],
                           votes((10, {"A": 6, "B": 3, "C": 1}), (4, {"A": 4})))
    assert scores(st) == {"A": F(60), "B": F(30), "C": F(10)}
    assert st.result("A").official == F(100)
    assert st.kept == ("resident",)
    assert st.empty_components == ("judges",)
    assert st.warnings == ()
    assert dict(st.weights_used) == {"resident": F(100), "official": F(0), "judges": F(0)}


def test_minmax_normalization():
    """Weights 100/0/0, `minmax`.  Resident B=12, v = A 9, B 5, C 3; min 3, max 9, range 6:
        C_res(A) = 100*(9-3)/6 = 100, C_res(B) = 100*(5-3)/6 = 100/3, C_res(C) = 0
    S = C_res; 100/3 displays as 33.33.
    """
    st = compute_standings(settings((100, 0, 0), vote_normalization="minmax"), ["A", "B", "C"],
                           votes((12, {"A": 9, "B": 5, "C": 3})))
    assert scores(st) == {"A": F(100), "B": F(100, 3), "C": F(0)}
    assert display(st.result("B").score) == "33.33"
    g = st.groups["resident"]
    assert (g.offset, g.denominator, g.empty) == (3, 6, False)


def test_minmax_with_all_equal_votes_is_empty():
    """Weights 50/50/0, `minmax`.  Resident v = A 4, B 4: max - min = 0 -> every C_res = 0,
    component empty (all_equal), dropped.  Official B=4, v = A 3, B 1: min 1, range 2:
        C_off(A) = 100*(3-1)/2 = 100, C_off(B) = 0.
    Kept: official only, sum of weights 50: S(A) = 50*100/50 = 100, S(B) = 0.
    Weights used: official 100*50/50 = 100.
    """
    st = compute_standings(settings((50, 50, 0), vote_normalization="minmax"), ["A", "B"],
                           votes((8, {"A": 4, "B": 4}), (4, {"A": 3, "B": 1})))
    assert st.result("A").resident == st.result("B").resident == F(0)
    assert st.groups["resident"].empty_reason == "all_equal"
    assert scores(st) == {"A": F(100), "B": F(0)}
    (w,) = st.warnings
    assert w.code == COMPONENTS_DROPPED
    assert w.data["components"] == ("resident",)
    assert w.data["reasons"] == {"resident": "all_equal"}
    assert w.data["weights_used"] == {"resident": 0, "official": F(100), "judges": 0}


def test_group_without_votes_is_dropped_and_weights_rescaled():
    """Weights 40/20/40, `top`.  Resident: no ballot at all -> max v = 0 -> empty, dropped.
    Official B=5, v = A 4, B 2: C_off(A) = 100, C_off(B) = 100*2/4 = 50.
    Judges (one judge): J(A) = 80, J(B) = 60.
    Kept official + judges, sum of weights 20 + 40 = 60:
        S(A) = (20*100 + 40*80)/60 = (2000+3200)/60 = 5200/60 = 260/3 ~ 86.67
        S(B) = (20*50 + 40*60)/60 = (1000+2400)/60 = 3400/60 = 170/3 ~ 56.67
    Weights used: official 100*20/60 = 100/3, judges 100*40/60 = 200/3.
    """
    st = compute_standings(settings(), ["A", "B"], votes(official=(5, {"A": 4, "B": 2})),
                           plain_sheets({"J1": {"A": 80, "B": 60}}))
    assert scores(st) == {"A": F(260, 3), "B": F(170, 3)}
    assert [display(v) for v in scores(st).values()] == ["86.67", "56.67"]
    assert st.kept == ("official", "judges")
    assert dict(st.weights_used) == {"resident": 0, "official": F(100, 3), "judges": F(200, 3)}
    (w,) = st.warnings
    assert (w.code, w.data["components"], w.data["reasons"]) == (
        COMPONENTS_DROPPED, ("resident",), {"resident": "no_approvals"})
    assert w.data["weights"] == {"resident": 40, "official": 20, "judges": 40}
    ex = explain(st, "A")
    assert (ex.weight_sum, ex.product_sum) == (60, F(5200))
    assert [t.included for t in ex.terms] == [False, True, True]
    assert ex.terms[0].empty and ex.terms[0].weight_used == 0


def test_no_judge_sheets_empties_the_judge_component():
    """Weights 40/20/40, `top`, no sheets -> judges empty, dropped.
    Resident v = A 3, B 1: C_res(A) = 100, C_res(B) = 100/3.
    Official v = A 1, B 2: C_off(A) = 50, C_off(B) = 100.
    Sum of kept weights 40 + 20 = 60:
        S(A) = (40*100 + 20*50)/60 = 5000/60 = 250/3
        S(B) = (40*100/3 + 20*100)/60 = (4000/3 + 6000/3)/60 = 10000/180 = 500/9 ~ 55.56
    """
    st = compute_standings(settings(), ["A", "B"], votes((4, {"A": 3, "B": 1}), (3, {"A": 1, "B": 2})))
    assert scores(st) == {"A": F(250, 3), "B": F(500, 9)}
    assert display(F(500, 9)) == "55.56"
    assert st.result("A").judges is None and st.result("B").judges is None
    assert st.judges.empty_reason == "no_sheets"
    assert [w.code for w in st.warnings] == [COMPONENTS_DROPPED]
    assert st.warnings[0].data["reasons"] == {"judges": "no_sheets"}


def test_finalist_without_sheets_counts_zero():
    """Weights 50/0/50, `top`, `mean`.  Resident B=5, v = A 2, B 2, C 1:
        C_res = 100, 100, 50.
    Judges: A 60 (one sheet), B none, C 90.  B has no judge score: 0 in the sum.
        S(A) = (50*100 + 50*60)/100 = 80
        S(B) = (50*100 + 50*0)/100 = 50
        S(C) = (50*50 + 50*90)/100 = (2500+4500)/100 = 70
    """
    st = compute_standings(settings((50, 0, 50)), ["A", "B", "C"],
                           votes((5, {"A": 2, "B": 2, "C": 1})),
                           plain_sheets({"J1": {"A": 60}, "J2": {"C": 90}}))
    assert scores(st) == {"A": F(80), "B": F(50), "C": F(70)}
    assert st.result("B").judges is None
    assert display(st.result("B").judges) == ""
    assert [r.finalist for r in st.results] == ["A", "C", "B"]
    (w,) = st.warnings
    assert (w.code, w.data) == (MISSING_JUDGE_SCORES, {"finalists": ["B"]})


def test_paper_ballots_count_in_their_group():
    """Weights 100/0/0, `share`.  Resident online/on-site ballots: [A], [A], [B];
    paper totals: 5 ballots, A 3, B 2.
        B_res = 3 + 5 = 8, v_res(A) = 2 + 3 = 5, v_res(B) = 1 + 2 = 3
        C_res(A) = 100*5/8 = 62.5, C_res(B) = 100*3/8 = 37.5
    """
    resident = tally([["A"], ["A"], ["B"]], paper=[(5, {"A": 3, "B": 2})])
    assert (resident.ballots, dict(resident.approvals)) == (8, {"A": 5, "B": 3})
    st = compute_standings(settings((100, 0, 0), vote_normalization="share"), ["A", "B"],
                           {"resident": resident})
    assert scores(st) == {"A": F(125, 2), "B": F(75, 2)}
    assert [display(v) for v in scores(st).values()] == ["62.50", "37.50"]
    assert dict(st.result("A").votes) == {"resident": 5, "official": 0}
    assert st.groups["resident"].ballots == 8


# --- judges ----------------------------------------------------------------------------

def test_trimmed_with_four_sheets_drops_nothing():
    """`trimmed`, weights 0/0/100.  A has 4 sheets 60, 70, 80, 100 (< 5: nothing dropped):
        J(A) = (60+70+80+100)/4 = 310/4 = 155/2 = 77.5
    """
    st = compute_standings(settings((0, 0, 100), judge_aggregation="trimmed"), ["A"], None,
                           plain_sheets({"J1": {"A": 60}, "J2": {"A": 70}, "J3": {"A": 80},
                                         "J4": {"A": 100}}))
    a = st.result("A")
    assert a.judges == F(155, 2) == a.score
    assert not any(s.dropped for s in a.judge_detail.sheets)


def test_trimmed_with_five_sheets_drops_highest_and_lowest():
    """`trimmed`, weights 0/0/100.  A has 5 sheets 50, 60, 70, 80, 100: drop 50 and 100:
        J(A) = (60+70+80)/3 = 70        (the plain mean would be 360/5 = 72)
    """
    st = compute_standings(settings((0, 0, 100), judge_aggregation="trimmed"), ["A"], None,
                           plain_sheets({"J1": {"A": 50}, "J2": {"A": 60}, "J3": {"A": 70},
                                         "J4": {"A": 80}, "J5": {"A": 100}}))
    a = st.result("A")
    assert a.judges == F(70) == a.score
    assert a.judge_detail.mean == F(72)
    assert {s.judge for s in a.judge_detail.sheets if s.dropped} == {"J1", "J5"}


def test_zscore_judge_with_all_equal_scores():
    """`zscore`, weights 0/0/100.
    Judge X: A 80, B 80 -> sigma_X = 0 -> z = 0, 0.
    Judge Y: A 90, B 70 -> mu 80, var (100+100)/2 = 100, sigma 10 -> z = +1, -1.
    Z(A) = (0+1)/2 = 0.5, Z(B) = (0-1)/2 = -0.5.
    Mean values: A (80+90)/2 = 85, B (80+70)/2 = 75 -> rescale [-0.5, 0.5] onto [75, 85]:
        J(A) = 75 + (0.5+0.5)*(85-75)/1 = 85, J(B) = 75.
    """
    st = compute_standings(settings((0, 0, 100), judge_aggregation="zscore"), ["A", "B"], None,
                           plain_sheets({"X": {"A": 80, "B": 80}, "Y": {"A": 90, "B": 70}}))
    assert scores(st) == {"A": F(85), "B": F(75)}
    x = st.judges.judges[0]
    assert (x.judge, x.variance, x.sd) == ("X", 0, 0.0)
    assert [s.z for s in st.result("A").judge_detail.sheets] == [0.0, 1.0]
    assert st.result("A").judge_detail.z_rounded == F(1, 2)
    assert st.judges.rescaled


def test_zscore_all_z_equal_uses_mean_values():
    """`zscore`.  Judge X: A 80, B 80 (sigma 0); judge Y: A 90 only (one sheet, sigma 0).
    Every z = 0, so Z(A) = Z(B) = 0: all equal -> use the `mean` values:
        J(A) = (80+90)/2 = 85, J(B) = 80.
    """
    st = compute_standings(settings((0, 0, 100), judge_aggregation="zscore"), ["A", "B"], None,
                           plain_sheets({"X": {"A": 80, "B": 80}, "Y": {"A": 90}}))
    assert scores(st) == {"A": F(85), "B": F(80)}
    assert not st.judges.rescaled


def test_zscore_reorders_harsh_and_lenient_judges():
    """`zscore` with z exactly +-1.
    X: A 90, B 70 -> mu 80, sigma 10 -> z_A = +1, z_B = -1
    Y: B 100, C 20 -> mu 60, sigma 40 -> z_B = +1, z_C = -1
    W: A 50, C 30 -> mu 40, sigma 10 -> z_A = +1, z_C = -1
    Z: A (1+1)/2 = 1, B (-1+1)/2 = 0, C (-1-1)/2 = -1.
    Means: A (90+50)/2 = 70, B (70+100)/2 = 85, C (20+30)/2 = 25 -> range [25, 85].
        J(A) = 25 + (1+1)*60/2 = 85, J(B) = 25 + (0+1)*60/2 = 55, J(C) = 25.
    `mean` would put B (85) above A (70); `zscore` puts A first.
    """
    table = {"X": {"A": 90, "B": 70}, "Y": {"B": 100, "C": 20}, "W": {"A": 50, "C": 30}}
    st = compute_standings(settings((0, 0, 100), judge_aggregation="zscore"), ["A", "B", "C"],
                           None, plain_sheets(table))
    assert scores(st) == {"A": F(85), "B": F(55), "C": F(25)}
    assert st.judges.mean_range == (F(25), F(85))
    mean = compute_standings(settings((0, 0, 100)), ["A", "B", "C"], None, plain_sheets(table))
    assert scores(mean) == {"A": F(70), "B": F(85), "C": F(25)}


def test_zscore_rescales_the_unrounded_z_then_rounds_j():
    """`zscore`, the order DESIGN.md fixes: rescale the float Z, then round J to 9 decimals.
    X: A 85, C 90 -> mu 87.5, sigma 2.5 -> z_A = -1, z_C = +1
    Y: A 80, B 35, C 0 -> mu 115/3, var 9650/9, sigma = 32.744804507
        z_A = (245/3)/sigma = 1.272466496, z_B = (-10/3)/sigma = -0.101797320,
        z_C = (-115/3)/sigma = -1.170669177
    Z(A) = (-1 + 1.272466496)/2 = 0.136233248 (float 0.13623324819910954)
    Z(B) = -0.101797320 (float -0.10179731971185753)
    Z(C) = (1 - 1.170669177)/2 = -0.085334588 (float -0.08533458834318086)
    Means: A (85+80)/2 = 82.5, B 35, C (90+0)/2 = 45 -> range [35, 82.5].
        J(A) = 82.5 and J(B) = 35 (max and min Z);
        J(C) = 35 + (Z_C - Z_B) * 47.5 / (Z_A - Z_B) = 35 + 0.016462732 * 47.5 / 0.238030568
             = 38.285207218867 -> 38.285207219.
    Rounding Z to 9 decimals first would give 35 + 0.016462732 * 47.5 / 0.238030568 with the
    rounded Z = 38.285207344: the two orders differ in the 7th decimal.
    """
    st = compute_standings(settings((0, 0, 100), judge_aggregation="zscore"), ["A", "B", "C"],
                           None, plain_sheets({"X": {"A": 85, "C": 90}, "Y": {"A": 80, "B": 35, "C": 0}}))
    a, b, c = (st.result(i) for i in "ABC")
    assert (a.judges, b.judges) == (F("82.5"), F(35))
    assert c.judges == F("38.285207219")
    assert c.judge_detail.z_rounded == F("-0.085334588")
    rounded_first = F(35) + (F("-0.085334588") - F("-0.101797320")) * F("47.5") / (F("0.136233248") - F("-0.101797320"))
    assert round(float(rounded_first), 9) == 38.285207344 != float(c.judges)
    assert [r.finalist for r in st.results] == ["A", "C", "B"]


def test_zscore_all_equal_is_judged_on_z_rounded_to_9_decimals():
    """`zscore`.  X: A 60, B 40 -> z_A = +1, z_B = -1; Y: A 40, B 60 -> z_A = -1, z_B = +1.
    Z(A) = Z(B) = 0 exactly: all Z equal, so J is the `mean` value, 50 for both."""
    st = compute_standings(settings((0, 0, 100), judge_aggregation="zscore"), ["A", "B"], None,
                           plain_sheets({"X": {"A": 60, "B": 40}, "Y": {"A": 40, "B": 60}}))
    assert scores(st) == {"A": F(50), "B": F(50)}
    assert st.judges.rescaled is False


def test_zscore_small_hand_case_with_irrational_sigma():
    """`zscore`.
    X: A 90, B 80, C 70 -> mu 80, var (100+0+100)/3 = 200/3, sigma = 8.164965809
        z_A = 10/8.164965809 = 1.224744871, z_B = 0, z_C = -1.224744871
    Y: A 70, B 90 -> mu 80, sigma 10 -> z_A = -1, z_B = +1
    Z(A) = (1.224744871 - 1)/2 = 0.112372436 (0.1123724356958 rounded to 9 decimals)
    Z(B) = (0 + 1)/2 = 0.5
    Z(C) = -1.224744871
    Means: A (90+70)/2 = 80, B (80+90)/2 = 85, C 70 -> range [70, 85].
        J(B) = 85 (max Z), J(C) = 70 (min Z), exactly;
        J(A) = 70 + (Z_A - Z_C) * 15 / (Z_B - Z_C) over the unrounded float Z
             = 70 + 1.3371173070874 * 15 / 1.7247448713916 = 70 + 11.628826929 = 81.628826929
        (rounding Z first would give 81.628826931)
    """
    st = compute_standings(settings((0, 0, 100), judge_aggregation="zscore"), ["A", "B", "C"],
                           None, plain_sheets({"X": {"A": 90, "B": 80, "C": 70},
                                               "Y": {"A": 70, "B": 90}}))
    a, b, c = (st.result(i) for i in "ABC")
    assert round(st.judges.judges[0].sd, 9) == 8.164965809
    assert round(a.judge_detail.sheets[0].z, 9) == 1.224744871
    assert a.judge_detail.z_rounded == F("0.112372436")
    assert c.judge_detail.z_rounded == F("-1.224744871")
    assert (b.judges, c.judges) == (F(85), F(70))
    assert a.judges == F("81.628826929")
    assert [r.finalist for r in st.results] == ["B", "A", "C"]


# --- ties ------------------------------------------------------------------------------

def test_tie_broken_by_judges():
    """Weights 50/0/50.  Resident top, v = A 5, B 3 (max 5): C_res(A) = 100, C_res(B) = 60.
    J(A) = 60, J(B) = 100.
        S(A) = (50*100 + 50*60)/100 = 80 = S(B) = (50*60 + 50*100)/100
    Chain: higher J -> B (100) before A (60).
    """
    st = compute_standings(settings((50, 0, 50)), ["A", "B"], votes((8, {"A": 5, "B": 3})),
                           plain_sheets({"J1": {"A": 60, "B": 100}}))
    assert scores(st) == {"A": F(80), "B": F(80)}
    assert ranks(st) == {"B": 1, "A": 2}
    assert st.result("A").tied_with == ()


def test_no_judge_score_is_lowest_at_the_judges_link():
    """Weights 100/0/0 (judges weight 0, so J does not enter S).  Resident v = A 1, B 1:
    C_res = 100 each, S = 100 each.  J(A) = 0 (all-zero sheet), B has no sheet.
    Chain: higher J, and no judge score counts lowest -> A (0) before B (none).
    """
    st = compute_standings(settings((100, 0, 0)), ["A", "B"], votes((2, {"A": 1, "B": 1})),
                           plain_sheets({"J1": {"A": 0}}))
    assert scores(st) == {"A": F(100), "B": F(100)}
    assert (st.result("A").judges, st.result("B").judges) == (F(0), None)
    assert ranks(st) == {"A": 1, "B": 2}


def test_tie_broken_by_resident():
    """Weights 40/20/40.  Resident top v = A 1, B 2: C_res(A) = 50, C_res(B) = 100.
    Official top v = A 3, B 0: C_off(A) = 100, C_off(B) = 0.  J(A) = J(B) = 80.
        S(A) = (40*50 + 20*100 + 40*80)/100 = (2000+2000+3200)/100 = 72
        S(B) = (40*100 + 20*0 + 40*80)/100 = (4000+0+3200)/100 = 72
    Chain: J equal (80 = 80) -> higher C_res: B (100) before A (50).
    """
    st = compute_standings(settings(), ["A", "B"], votes((3, {"A": 1, "B": 2}), (3, {"A": 3})),
                           plain_sheets({"J1": {"A": 80, "B": 80}}))
    assert scores(st) == {"A": F(72), "B": F(72)}
    assert ranks(st) == {"B": 1, "A": 2}


def test_tie_broken_by_official():
    """Weights 50/0/50.  Resident v = A 2, B 2: C_res = 100, 100.
    Official v = A 2, B 1: C_off(A) = 100, C_off(B) = 50 (weight 0: not in S).
    J(A) = J(B) = 80.  S = (50*100 + 50*80)/100 = 90 for both.
    Chain: J equal, C_res equal, higher C_off: A (100) before B (50).
    A chain without "official" leaves them tied at rank 1.
    """
    args = (["A", "B"], votes((3, {"A": 2, "B": 2}), (2, {"A": 2, "B": 1})),
            plain_sheets({"J1": {"A": 80, "B": 80}}))
    st = compute_standings(settings((50, 0, 50)), *args)
    assert scores(st) == {"A": F(90), "B": F(90)}
    assert ranks(st) == {"A": 1, "B": 2}
    short = compute_standings(settings((50, 0, 50), tie_break=("judges", "resident")), *args)
    assert ranks(short) == {"A": 1, "B": 1}
    assert short.result("A").tied_with == ("B",)


def test_tie_inside_one_tier_needs_no_resolution():
    """Weights 100/0/0, `top`.  Resident v = A 4, B 2, C 2, D 1 (max 4):
        S = 100, 50, 50, 25.  B and C stay tied (no judges, equal official 0).
    Competition ranking 1, 2, 2, 4.  Tiers 대상 1, 우수상 2: places 2 and 3 are both 우수상,
    so the tie is harmless: both 우수상, D none, nothing to resolve.
    """
    st = compute_standings(settings((100, 0, 0), tiers=(("대상", 1), ("우수상", 2))),
                           ["D", "C", "B", "A"], votes((9, {"A": 4, "B": 2, "C": 2, "D": 1})))
    assert scores(st) == {"A": F(100), "B": F(50), "C": F(50), "D": F(25)}
    assert [(r.finalist, r.rank) for r in st.results] == [("A", 1), ("B", 2), ("C", 2), ("D", 4)]
    assert tiers(st) == {"A": "대상", "B": "우수상", "C": "우수상", "D": None}
    assert (st.result("B").tied_with, st.result("C").tied_with) == (("C",), ("B",))
    assert st.unresolved_ties == () and st.can_freeze


BOUNDARY = dict(weights=(100, 0, 0), tiers=(("대상", 1), ("최우수상", 1), ("우수상", 1)))
# Resident v = A 3, B 3, C 1 (max 3): S = 100, 100, 100/3.  A and B tie over places 1-2,
# which are 대상 and 최우수상: the tie crosses a boundary.
BOUNDARY_ARGS = (["A", "B", "C"], votes((7, {"A": 3, "B": 3, "C": 1})))


def test_tie_across_a_tier_boundary_is_unresolved():
    """See BOUNDARY: A and B share rank 1 over places 1 (대상) and 2 (최우수상).
    Unresolved: neither gets a tier yet; C (place 3) is 우수상 regardless.
    """
    st = compute_standings(settings(**BOUNDARY), *BOUNDARY_ARGS)
    assert scores(st) == {"A": F(100), "B": F(100), "C": F(100, 3)}
    assert ranks(st) == {"A": 1, "B": 1, "C": 3}
    assert tiers(st) == {"A": None, "B": None, "C": "우수상"}
    (tie,) = st.unresolved_ties
    assert (tie.finalists, tie.rank, tie.tiers, tie.places) == (("A", "B"), 1, ("대상", "최우수상"), 1)
    assert not st.can_freeze


def test_tie_across_the_last_tier_boundary_is_unresolved():
    """Tiers 대상 1, 우수상 1; S = 100, 50, 50 (resident v = A 2, B 1, C 1, weights 100/0/0).
    B and C share places 2-3: 우수상 and no award -> unresolved, tiers (우수상, none).
    """
    st = compute_standings(settings((100, 0, 0), tiers=(("대상", 1), ("우수상", 1))),
                           ["A", "B", "C"], votes((4, {"A": 2, "B": 1, "C": 1})))
    (tie,) = st.unresolved_ties
    assert (tie.finalists, tie.rank, tie.tiers, tie.places) == (("B", "C"), 2, ("우수상", None), 1)
    assert tiers(st) == {"A": "대상", "B": None, "C": None}


def test_boundary_tie_resolved_by_draw():
    """The BOUNDARY tie, drawn with seed "2019-sharing-party":
    ids sorted ascending ["A", "B"], random.Random("2019-sharing-party").shuffle -> ["B", "A"].
    So B is 1st (대상), A 2nd (최우수상), C 3rd (우수상); the tie is decided.
    """
    seed = "2019-sharing-party"
    replay = sorted(["B", "A"])
    random.Random(seed).shuffle(replay)
    assert replay == ["B", "A"]
    assert draw_order({"A", "B"}, seed) == ("B", "A")
    draw = TieResolution(frozenset({"A", "B"}), "draw", seed, ("B", "A"))
    st = compute_standings(settings(**BOUNDARY), *BOUNDARY_ARGS, resolutions=[draw])
    assert [(r.finalist, r.rank, r.tier) for r in st.results] == [
        ("B", 1, "대상"), ("A", 2, "최우수상"), ("C", 3, "우수상")]
    assert st.result("A").tied_with == () and st.result("A").resolution == draw
    assert st.can_freeze and st.warnings == ()
    # A recorded order that the seed does not give is refused.
    forged = TieResolution(frozenset({"A", "B"}), "draw", seed, ("A", "B"))
    with pytest.raises(ValueError):
        compute_standings(settings(**BOUNDARY), *BOUNDARY_ARGS, resolutions=[forged])


def test_boundary_tie_resolved_by_joint_award():
    """The BOUNDARY tie as a joint award: A and B both 대상 (the better tier), rank 1 shared.
    The joint award consumes places 1-2, so 최우수상 is not given and C (place 3) is 우수상.
    """
    joint = TieResolution(frozenset({"A", "B"}), "joint")
    st = compute_standings(settings(**BOUNDARY), *BOUNDARY_ARGS, resolutions=[joint])
    assert [(r.finalist, r.rank, r.tier) for r in st.results] == [
        ("A", 1, "대상"), ("B", 1, "대상"), ("C", 3, "우수상")]
    assert st.result("A").tied_with == ("B",)
    assert st.can_freeze


def test_three_way_joint_award_consumes_three_places():
    """DESIGN.md's example.  Tiers 대상 1, 최우수상 1, 우수상 2; weights 100/0/0, `top`.
    Resident v = A 4, B 4, C 4, D 2, E 1 (max 4): S = 100, 100, 100, 50, 25.
    A, B, C tie over places 1-3 (대상, 최우수상, 우수상): a boundary tie.  As a joint award all
    three take the tier of the group's first place, 대상, and keep rank 1; the group still
    consumes places 1-3, so D (place 4) is the one 우수상 left, E (place 5) gets none.
    """
    three = settings((100, 0, 0), tiers=(("대상", 1), ("최우수상", 1), ("우수상", 2)))
    args = (["A", "B", "C", "D", "E"], votes((9, {"A": 4, "B": 4, "C": 4, "D": 2, "E": 1})))
    (tie,) = compute_standings(three, *args).unresolved_ties
    assert tie.finalists == ("A", "B", "C")
    joint = TieResolution(frozenset({"A", "B", "C"}), "joint")
    st = compute_standings(three, *args, resolutions=[joint])
    assert [(r.finalist, r.rank, r.tier) for r in st.results] == [
        ("A", 1, "대상"), ("B", 1, "대상"), ("C", 1, "대상"), ("D", 4, "우수상"), ("E", 5, None)]
    assert st.can_freeze


def test_drawn_three_way_tie_takes_three_distinct_places():
    """The same three-way tie drawn with seed "s": ids ["A", "B", "C"] shuffled by
    random.Random("s") give the order; they take places 1, 2, 3 (대상, 최우수상, 우수상) in it,
    and D (place 4) is the second 우수상."""
    three = settings((100, 0, 0), tiers=(("대상", 1), ("최우수상", 1), ("우수상", 2)))
    args = (["A", "B", "C", "D", "E"], votes((9, {"A": 4, "B": 4, "C": 4, "D": 2, "E": 1})))
    order = ["A", "B", "C"]
    random.Random("s").shuffle(order)
    draw = TieResolution(frozenset({"A", "B", "C"}), "draw", "s", tuple(order))
    st = compute_standings(three, *args, resolutions=[draw])
    assert [(r.finalist, r.rank, r.tier) for r in st.results] == [
        (order[0], 1, "대상"), (order[1], 2, "최우수상"), (order[2], 3, "우수상"), ("D", 4, "우수상"), ("E", 5, None)]


def test_resolution_for_a_tie_that_does_not_exist_is_reported():
    """A resolution naming A and C (not a tie group: S 100 vs 100/3) is not used."""
    stale = TieResolution(frozenset({"A", "C"}), "joint")
    st = compute_standings(settings(**BOUNDARY), *BOUNDARY_ARGS, resolutions=[stale])
    assert [(w.code, w.data["finalists"]) for w in st.warnings] == [(TIE_RESOLUTION_UNUSED, ["A", "C"])]
    assert not st.can_freeze


# --- whole categories ------------------------------------------------------------------

def test_single_finalist():
    """One finalist A, weights 40/20/40.
    `top`: resident v 3 of B=4 -> 100*3/3 = 100; official v 1 of B=2 -> 100; J = 70.
        S = (40*100 + 20*100 + 40*70)/100 = (4000+2000+2800)/100 = 88, rank 1, 대상.
    `minmax`: max - min = 0 in both groups -> both empty, dropped; S = 40*70/40 = 70.
    """
    args = (["A"], votes((4, {"A": 3}), (2, {"A": 1})), plain_sheets({"J1": {"A": 70}}))
    st = compute_standings(settings(tiers=(("대상", 1),)), *args)
    assert (st.result("A").score, st.result("A").rank, st.result("A").tier) == (F(88), 1, "대상")
    mm = compute_standings(settings(vote_normalization="minmax"), *args)
    assert mm.result("A").score == F(70)
    assert mm.warnings[0].data["components"] == ("resident", "official")


def test_all_components_empty():
    """Weights 40/20/40, no ballots, no sheets: every component empty -> every S = 0,
    warning all_components_empty; A and B stay tied at rank 1 (no tiers: harmless)."""
    st = compute_standings(settings(), ["A", "B"])
    assert scores(st) == {"A": F(0), "B": F(0)}
    assert [w.code for w in st.warnings] == [ALL_COMPONENTS_EMPTY]
    assert ranks(st) == {"A": 1, "B": 1}
    assert explain(st, "A").all_empty


def test_display_rounds_half_up_from_the_exact_value():
    """2/3 -> 66.666.. -> 66.67; 100*1/8 = 12.5 -> 12.50; 1/8 = 0.125 -> 0.13 (half up,
    not half even); 100*1/200 = 0.5 -> 0.50; 1.005 -> 1.01 (a float would say 1.00499..)."""
    assert display(100 * F(2, 3)) == "66.67"
    assert display(100 * F(1, 8)) == "12.50"
    assert display(F(1, 8)) == "0.13"
    assert display(100 * F(1, 200)) == "0.50"
    assert display(F(1005, 1000)) == "1.01"
    assert display(F(4999, 1000000)) == "0.00"
    assert display(F(100)) == "100.00"
    assert fraction_text(F(402, 5)) == "402/5" and fraction_text(3) == "3/1"
    assert parse_fraction("402/5") == F(402, 5)


def test_invalid_inputs_are_refused():
    with pytest.raises(ValueError):
        Weights(40, 40, 40)
    with pytest.raises(ValueError):
        compute_standings(settings(), ["A"], sheets=plain_sheets({"J1": {"A": 101}}))
    with pytest.raises(ValueError):
        compute_standings(settings(), ["A"], sheets=plain_sheets({"J1": {"Z": 50}}))
    with pytest.raises(ValueError):
        compute_standings(settings(), ["A"], sheets=plain_sheets({"J1": {"A": 5}}) * 2)
    with pytest.raises(ValueError):
        GroupVotes(2, {"A": 3})
    with pytest.raises(ValueError):
        compute_standings(settings(), ["A"], votes((1, {"B": 1})))


# --- properties ------------------------------------------------------------------------

def random_category(rng):
    finalists = [f"F{n}" for n in range(rng.randint(1, 6))]
    w_res = rng.randint(0, 100)
    w_off = rng.randint(0, 100 - w_res)
    s = CategorySettings(
        weights=Weights(w_res, w_off, 100 - w_res - w_off),
        vote_normalization=rng.choice(["top", "share", "minmax"]),
        judge_aggregation=rng.choice(["mean", "trimmed", "zscore"]),
        tiers=(("대상", 1), ("우수상", rng.randint(1, 2))),
        criteria=RUBRIC,
    )
    groups = {}
    for group in ("resident", "official"):
        ballots = [rng.sample(finalists, rng.randint(1, min(2, len(finalists))))
                   for _ in range(rng.randint(0, 8))]
        paper = [(3, {i: rng.randint(0, 3) for i in finalists})] if rng.random() < 0.5 else []
        groups[group] = tally(ballots, paper)
    sheets = [Sheet(j, i, {"협치성": rng.randint(0, 10), "성과": rng.randint(0, 10)})
              for j in ("J1", "J2", "J3", "J4", "J5", "J6") for i in finalists
              if rng.random() < 0.7]
    return s, finalists, groups, sheets


def test_scores_stay_between_0_and_100_and_ranks_are_consistent():
    rng = random.Random(20191210)
    for _ in range(200):
        s, finalists, groups, sheets = random_category(rng)
        st = compute_standings(s, finalists, groups, sheets)
        for position, r in enumerate(st.results):
            assert 0 <= r.score <= 100
            assert r.judges is None or 0 <= r.judges <= 100
            ahead = [o for o in st.results[:position] if o.finalist not in r.tied_with]
            assert r.rank == 1 + len(ahead)
        assert [r.score for r in st.results] == sorted((r.score for r in st.results), reverse=True)
        ex = explain(st, finalists[0])
        if not ex.all_empty:
            assert ex.product_sum / ex.weight_sum == ex.score


def test_input_order_does_not_change_standings():
    rng = random.Random(7)
    for _ in range(150):
        s, finalists, groups, sheets = random_category(rng)
        st = compute_standings(s, finalists, groups, sheets)
        shuffled_groups = {g: GroupVotes(v.ballots, dict(rng.sample(list(v.approvals.items()), len(v.approvals))))
                           for g, v in reversed(groups.items())}
        again = compute_standings(s, rng.sample(finalists, len(finalists)), shuffled_groups,
                                  rng.sample(sheets, len(sheets)))
        assert again.results == st.results
        assert again.warnings == st.warnings
        assert again.unresolved_ties == st.unresolved_ties


def test_recomputing_from_the_bundle_gives_the_same_results():
    """Settings, ballots, paper totals, sheets and resolutions written the bundle's way,
    through JSON and back, recompute to the same results list."""
    category = {
        "weights": {"resident": 40, "official": 20, "judges": 40},
        "vote_normalization": "top", "judge_aggregation": "trimmed",
        "tie_break": ["judges", "resident", "official"],
        "tiers": [{"name": "대상", "count": 1}, {"name": "최우수상", "count": 1}],
        "criteria": [{"id": 1, "name": "협치성", "weight": 3, "max": 10},
                     {"id": 2, "name": "성과", "weight": 2, "max": 10}],
        "finalists": [{"id": 11, "title": "마을 정원"}, {"id": 12, "title": "청년 공간"},
                      {"id": 13, "title": "돌봄 센터"}],
        "ballots": [{"group": "resident", "channel": "online", "approvals": [11]},
                    {"group": "resident", "channel": "code", "approvals": [12]},
                    {"group": "official", "channel": "online", "approvals": [13]}],
        "paper_totals": [{"group": "resident", "ballots": 2, "approvals": {"11": 1, "12": 1}}],
        "sheets": [{"judge": "J1", "finalist": 11, "scores": {"1": 8, "2": 6}},
                   {"judge": "J1", "finalist": 12, "scores": {"1": 8, "2": 6}}],
        "tie_resolutions": [{"finalists": [11, 12], "method": "draw", "seed": "s",
                             "order": list(draw_order([11, 12], "s"))}],
    }
    # 11 and 12: resident 2 each (100), official 0, J 72 -> S = (4000 + 2880)/100 = 68.8,
    # tied across 대상/최우수상 -> decided by the draw.
    loaded = json.loads(json.dumps(category, ensure_ascii=False))
    st = compute_standings(**inputs_from_bundle(loaded))
    assert st.result(11).score == st.result(12).score == F(344, 5)
    assert st.can_freeze
    results = json.loads(json.dumps(bundle_results(st)))
    again = compute_standings(**inputs_from_bundle(json.loads(json.dumps(category))))
    assert bundle_results(again) == results
    assert results[0]["score"] == "344/5" and results[0]["score_display"] == "68.80"
    assert json.loads(json.dumps(bundle_warnings(st))) == bundle_warnings(st)
