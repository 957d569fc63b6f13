"""The results of one category: the exact rule of DESIGN.md, "Results: the exact rule".

Pure Python (standard library only): frozen dataclasses in, :class:`Standings` out.
No Flask, no SQLAlchemy, no database; the app turns its rows into these inputs, and anyone
holding a transparency bundle can do the same with :func:`inputs_from_bundle`.

Entry point::

    standings = compute_standings(settings, finalists, votes, sheets, resolutions)

Arithmetic is exact (:class:`fractions.Fraction`) everywhere except the `zscore` judge
aggregation, which needs square roots: there the per-sheet z values, their per-finalist
mean Z and the linear rescale of Z are floats; the rescaled J is rounded to 9 decimals
(half up) and everything after that (the weighted sum, the comparison) is exact again.  Values are rounded only
for display, to two decimals, half up (:func:`display`).

Decisions where DESIGN.md is silent (the report of each is also in the docstrings below):

* A component is *empty* when its normalization denominator is 0 (votes) or no finalist has
  a submitted sheet (judges).  An empty component with a positive weight is *dropped* and the
  other weights are scaled up, with the warning ``components_dropped``.  An empty component
  whose weight is 0 contributed nothing anyway: it is listed in ``Standings.empty_components``
  but raises no warning.  If no component with a positive weight is left, every S is 0 and
  the warning is ``all_components_empty`` (ranking then falls entirely to the tie-break
  chain).
* ``minmax`` with all finalists on the same number of votes (including a single finalist) is
  empty, as its denominator is 0.  ``share`` with ballots but no approvals is not empty (its
  denominator B_g is not 0); every C is then 0.
* A finalist without a sheet while others have one has no judge score: it counts 0 in the
  sum, is lowest at the "judges" link of the tie-break chain, and is named in the warning
  ``missing_judge_scores``.
* `trimmed` drops one sheet with the highest and one with the lowest total (ties between
  equal totals are broken by judge id, which changes nothing numerically).
* `zscore` (DESIGN.md gives the order exactly): mu_j and sigma_j^2 are exact;
  sigma_j = math.sqrt(float), z_ij is a float, Z_i = math.fsum(z_ij) / n_i; "all Z equal"
  is judged on Z_i rounded half up to 9 decimals (then J is the `mean` value); otherwise
  J_i = float(m_lo) + (Z_i - Z_lo) * (float(m_hi) - float(m_lo)) / (Z_hi - Z_lo) over the
  *unrounded* float Z, then rounded half up to 9 decimals and made a Fraction.  Rounding Z
  before the rescale would multiply its rounding error by (m_hi - m_lo) / (Z_hi - Z_lo).
* Inside a tie that stays tied, finalists are listed by id ascending (ints numerically,
  strings by code point): output never depends on input order.
* Tie resolutions apply to the tie group whose finalists they name exactly.  A `draw` turns
  the group into distinct ranks in the drawn order (the tie is decided, ``tied_with`` is
  empty, ``resolution`` records it).  A `joint` award keeps the shared rank and gives every
  member the better tier; the joint award consumes places, as competition ranking does
  (three joint 대상 with tiers 대상 1, 최우수상 1 leave no 최우수상).  A resolution that
  matches no tie group is reported with the warning ``tie_resolution_unused``.
* Members of an unresolved boundary tie get no tier (None) until it is resolved; they still
  occupy their places, so the tiers of everyone after them are already final.
* Malformed inputs (unknown finalist ids, duplicate sheets, scores outside 0..max, weights
  not summing to 100, a draw whose recorded order does not replay ...) raise ValueError.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Hashable, Iterable, Mapping, Sequence

GROUPS = ("resident", "official")
COMPONENTS = ("resident", "official", "judges")
NORMALIZATIONS = ("top", "share", "minmax")
AGGREGATIONS = ("mean", "trimmed", "zscore")
TIE_BREAK_KEYS = COMPONENTS
DEFAULT_TIE_BREAK = ("judges", "resident", "official")
RESOLUTION_METHODS = ("draw", "joint")
TRIM_MIN_SHEETS = 5
ZSCORE_DECIMALS = 9

# Warning codes (ResultWarning.code); the app translates them.
COMPONENTS_DROPPED = "components_dropped"
ALL_COMPONENTS_EMPTY = "all_components_empty"
MISSING_JUDGE_SCORES = "missing_judge_scores"
TIE_RESOLUTION_UNUSED = "tie_resolution_unused"

# Why a component is empty.
NO_APPROVALS = "no_approvals"   # top: max v_g = 0; minmax: nobody has a vote
NO_BALLOTS = "no_ballots"       # share: B_g = 0
ALL_EQUAL = "all_equal"         # minmax: max v_g = min v_g > 0
NO_SHEETS = "no_sheets"         # judges: no finalist has a submitted sheet

_HUNDRED = Fraction(100)
_DECIMAL_CONTEXT = Context(prec=60)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _to_fraction(value, what) -> Fraction:
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number")
    if isinstance(value, (int, Fraction)):
        return Fraction(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{what} must be finite")
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{what} must be finite")
        return Fraction(repr(value))
    if isinstance(value, str):
        try:
            return Fraction(value.strip())
        except ValueError:
            raise ValueError(f"{what} {value!r} is not a number") from None
    raise ValueError(f"{what} must be a number, not {type(value).__name__}")


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Criterion:
    """One rubric criterion: weight w_c and maximum score max_c."""

    id: Hashable
    weight: int | Fraction = 1
    max_score: int | Fraction = 10

    def __post_init__(self):
        object.__setattr__(self, "weight", _to_fraction(self.weight, "criterion weight"))
        object.__setattr__(self, "max_score", _to_fraction(self.max_score, "criterion max"))
        if self.weight < 0:
            raise ValueError(f"criterion {self.id!r}: weight must be >= 0")
        if self.max_score <= 0:
            raise ValueError(f"criterion {self.id!r}: max must be > 0")


@dataclass(frozen=True)
class Tier:
    """An award tier (대상, 최우수상 ...) with the number of places it has."""

    name: str
    count: int

    def __post_init__(self):
        if not _is_int(self.count) or self.count < 1:
            raise ValueError(f"tier {self.name!r}: count must be an integer >= 1")


@dataclass(frozen=True)
class Weights:
    """w_res, w_off, w_jud: non-negative integers summing to 100."""

    resident: int = 40
    official: int = 20
    judges: int = 40

    def __post_init__(self):
        for key in COMPONENTS:
            value = getattr(self, key)
            if not _is_int(value) or value < 0:
                raise ValueError(f"weight {key} must be a non-negative integer")
        if self.resident + self.official + self.judges != 100:
            raise ValueError("weights must sum to 100")

    def of(self, component: str) -> int:
        return getattr(self, component)

    def as_dict(self) -> dict[str, int]:
        return {key: self.of(key) for key in COMPONENTS}


@dataclass(frozen=True)
class CategorySettings:
    """The settings of one category that the rule reads.

    ``weights`` may be given as :class:`Weights`, a mapping or a (resident, official, judges)
    triple; ``tiers`` as :class:`Tier` or (name, count) pairs; ``criteria`` as
    :class:`Criterion`.  ``tie_break`` is a sequence of distinct keys from TIE_BREAK_KEYS,
    most decisive first (it may be shorter than three, or empty).
    """

    weights: Weights = Weights()
    vote_normalization: str = "top"
    judge_aggregation: str = "mean"
    tie_break: tuple[str, ...] = DEFAULT_TIE_BREAK
    tiers: tuple[Tier, ...] = ()
    criteria: tuple[Criterion, ...] = ()

    def __post_init__(self):
        weights = self.weights
        if isinstance(weights, Mapping):
            weights = Weights(**weights)
        elif not isinstance(weights, Weights):
            weights = Weights(*weights)
        object.__setattr__(self, "weights", weights)
        if self.vote_normalization not in NORMALIZATIONS:
            raise ValueError(f"unknown vote normalization {self.vote_normalization!r}")
        if self.judge_aggregation not in AGGREGATIONS:
            raise ValueError(f"unknown judge aggregation {self.judge_aggregation!r}")
        chain = tuple(self.tie_break)
        if any(key not in TIE_BREAK_KEYS for key in chain) or len(set(chain)) != len(chain):
            raise ValueError(f"tie-break chain must be distinct keys from {TIE_BREAK_KEYS}")
        object.__setattr__(self, "tie_break", chain)
        tiers = tuple(t if isinstance(t, Tier) else Tier(*t) for t in self.tiers)
        object.__setattr__(self, "tiers", tiers)
        criteria = tuple(self.criteria)
        if len({c.id for c in criteria}) != len(criteria):
            raise ValueError("criterion ids must be distinct")
        object.__setattr__(self, "criteria", criteria)


@dataclass(frozen=True)
class GroupVotes:
    """The votes of one group in one category, every channel included (online, on-site
    code, paper totals): ``ballots`` is B_g, ``approvals[i]`` is v_g(i).  A finalist that is
    not in ``approvals`` has 0.  Build it from ballots with :func:`tally`."""

    ballots: int = 0
    approvals: Mapping[Hashable, int] = field(default_factory=dict)

    def __post_init__(self):
        if not _is_int(self.ballots) or self.ballots < 0:
            raise ValueError("ballots must be a non-negative integer")
        approvals = dict(self.approvals)
        for finalist, count in approvals.items():
            if not _is_int(count) or count < 0:
                raise ValueError(f"approvals of {finalist!r} must be a non-negative integer")
            if count > self.ballots:
                raise ValueError(f"{finalist!r} has more approvals ({count}) than there are ballots")
        object.__setattr__(self, "approvals", MappingProxyType(approvals))


@dataclass(frozen=True)
class Sheet:
    """One *submitted* score sheet: judge j's score x_ijc for finalist i on each criterion.

    Drafts and recusals are simply not passed.  Scores may be int, Fraction, Decimal, a
    decimal string ("7.5") or a float (read through its shortest repr, so 7.1 is 71/10)."""

    judge: Hashable
    finalist: Hashable
    scores: Mapping[Hashable, Any]

    def __post_init__(self):
        object.__setattr__(self, "scores", MappingProxyType(dict(self.scores)))


@dataclass(frozen=True)
class TieResolution:
    """The organizer's decision for one tie group: ``draw`` (with its seed; ``order`` is the
    recorded outcome and, if given, must equal :func:`draw_order`) or ``joint``."""

    finalists: frozenset
    method: str
    seed: str | None = None
    order: tuple | None = None

    def __post_init__(self):
        object.__setattr__(self, "finalists", frozenset(self.finalists))
        if len(self.finalists) < 2:
            raise ValueError("a tie resolution names at least two finalists")
        if self.method not in RESOLUTION_METHODS:
            raise ValueError(f"unknown tie resolution method {self.method!r}")
        if self.method == "draw" and not isinstance(self.seed, str):
            raise ValueError("a draw needs its seed (a string)")
        if self.order is not None:
            object.__setattr__(self, "order", tuple(self.order))


# ---------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class GroupSummary:
    """How group g was normalized: C_g(i) = 100 * (v_g(i) - offset) / denominator.

    ``offset`` is min v_g for minmax and 0 otherwise; ``denominator`` is max v_g (top), B_g
    (share) or max v_g - min v_g (minmax).  When it is 0 the component is empty."""

    group: str
    normalization: str
    ballots: int
    offset: int
    denominator: int
    empty_reason: str | None

    @property
    def empty(self) -> bool:
        return self.empty_reason is not None


@dataclass(frozen=True)
class SheetTotal:
    """T_ij of one sheet; ``z`` is z_ij (zscore only); ``dropped`` by the trimmed mean."""

    judge: Hashable
    total: Fraction
    z: float | None = None
    dropped: bool = False


@dataclass(frozen=True)
class JudgeStats:
    """zscore only: judge j's mean mu_j (exact), variance (exact) and SD sigma_j (float)."""

    judge: Hashable
    sheets: int
    mean: Fraction
    variance: Fraction
    sd: float


@dataclass(frozen=True)
class JudgeDetail:
    """How J(i) came about for one finalist."""

    sheets: tuple[SheetTotal, ...]
    mean: Fraction | None          # plain mean of every T_ij (the `mean` value)
    trimmed_mean: Fraction | None  # trimmed only
    z_mean: float | None           # zscore only: Z_i as computed
    z_rounded: Fraction | None     # zscore only: Z_i rounded half up to 9 decimals
    value: Fraction | None         # J(i); None = no judge score


@dataclass(frozen=True)
class JudgeSummary:
    """The judge component of the category."""

    aggregation: str
    empty_reason: str | None
    judges: tuple[JudgeStats, ...] = ()       # zscore only
    z_range: tuple[Fraction, Fraction] | None = None     # zscore: (min Z, max Z), rounded
    mean_range: tuple[Fraction, Fraction] | None = None  # zscore: (min, max) of `mean`
    rescaled: bool = False    # zscore: False when all Z are equal (the `mean` values used)

    @property
    def empty(self) -> bool:
        return self.empty_reason is not None


@dataclass(frozen=True)
class FinalistResult:
    finalist: Hashable
    votes: Mapping[str, int]           # {"resident": v_res(i), "official": v_off(i)}
    resident: Fraction                 # C_resident(i)
    official: Fraction                 # C_official(i)
    judges: Fraction | None            # J(i); None = no judge score
    score: Fraction                    # S(i)
    rank: int                          # competition ranking: 1, 2, 2, 4
    tier: str | None
    tied_with: tuple                   # ids still tied with this finalist
    resolution: TieResolution | None   # the resolution applied to its tie group, if any
    judge_detail: JudgeDetail

    def component(self, key: str) -> Fraction | None:
        return getattr(self, key)


@dataclass(frozen=True)
class ResultWarning:
    """A category-level warning: a code (see the *_DROPPED/EMPTY/... constants) plus data."""

    code: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class UnresolvedTie:
    """A tie that crosses a tier boundary and has no matching TieResolution.

    ``tiers`` are the tiers its places span (None = beyond the last tier); ``places`` is
    how many of them fall in the best of those tiers."""

    finalists: tuple
    rank: int
    tiers: tuple
    places: int


@dataclass(frozen=True)
class Standings:
    settings: CategorySettings
    results: tuple[FinalistResult, ...]          # in rank order
    groups: Mapping[str, GroupSummary]
    judges: JudgeSummary
    kept: tuple[str, ...]                        # components that count in S
    weights_used: Mapping[str, Fraction]         # weights of `kept` scaled to sum 100
    empty_components: tuple[str, ...]
    warnings: tuple[ResultWarning, ...]
    unresolved_ties: tuple[UnresolvedTie, ...]

    @property
    def can_freeze(self) -> bool:
        """Results can be frozen only when no tie crosses a tier boundary unresolved."""
        return not self.unresolved_ties

    def result(self, finalist: Hashable) -> FinalistResult:
        for row in self.results:
            if row.finalist == finalist:
                return row
        raise KeyError(finalist)


@dataclass(frozen=True)
class Term:
    """One component in the explanation of S(i): ``product`` = weight * value."""

    component: str
    weight: int                  # as configured
    weight_used: Fraction        # scaled so the kept weights sum to 100 (0 if not kept)
    value: Fraction | None       # C_g(i) or J(i); None = no judge score (0 in the sum)
    product: Fraction            # weight * value (value None counts 0)
    included: bool               # counts in S: not empty and weight > 0
    empty: bool


@dataclass(frozen=True)
class VoteTerm:
    """C_g(i) = 100 * (approvals - offset) / denominator (0 when empty)."""

    group: str
    approvals: int
    ballots: int
    normalization: str
    offset: int
    denominator: int
    value: Fraction
    empty: bool


@dataclass(frozen=True)
class Explanation:
    """Everything needed to write out S(i) in words:
    S = product_sum / weight_sum, product_sum = sum of the included terms' products."""

    finalist: Hashable
    score: Fraction
    rank: int
    tier: str | None
    tied_with: tuple
    terms: tuple[Term, ...]
    weight_sum: int
    product_sum: Fraction
    all_empty: bool
    votes: Mapping[str, VoteTerm]
    aggregation: str
    judges: JudgeDetail


# ---------------------------------------------------------------------------
# The rule
# ---------------------------------------------------------------------------

def compute_standings(
    settings: CategorySettings,
    finalists: Sequence[Hashable],
    votes: Mapping[str, GroupVotes] | None = None,
    sheets: Iterable[Sheet] = (),
    resolutions: Iterable[TieResolution] = (),
) -> Standings:
    """Computes the standings of one category.

    ``finalists`` are the finalist ids; ``votes`` maps "resident" and "official" to their
    :class:`GroupVotes` (a missing group has no ballots); ``sheets`` are the submitted score
    sheets; ``resolutions`` the organizer's recorded tie resolutions.
    """
    finalist_ids = _check_finalists(finalists)
    known = set(finalist_ids)
    votes = dict(votes or {})
    for group in votes:
        if group not in GROUPS:
            raise ValueError(f"unknown voting group {group!r}")
    group_votes = {g: votes.get(g) or GroupVotes() for g in GROUPS}
    for group, gv in group_votes.items():
        unknown = [i for i in gv.approvals if i not in known]
        if unknown:
            raise ValueError(f"{group} approvals name unknown finalists {unknown!r}")
    resolutions = _check_resolutions(resolutions, known)

    summaries, vote_components = {}, {}
    for group in GROUPS:
        summaries[group], vote_components[group] = normalize_votes(
            settings.vote_normalization, group, group_votes[group], finalist_ids
        )
    judge_summary, judge_details = aggregate_judges(settings, sheets, finalist_ids)

    weights = settings.weights
    empty = {g: summaries[g].empty_reason for g in GROUPS}
    empty["judges"] = judge_summary.empty_reason
    empty_components = tuple(k for k in COMPONENTS if empty[k])
    kept = tuple(k for k in COMPONENTS if not empty[k] and weights.of(k) > 0)
    dropped = tuple(k for k in COMPONENTS if empty[k] and weights.of(k) > 0)
    weight_sum = sum(weights.of(k) for k in kept)
    weights_used = {k: (Fraction(100 * weights.of(k), weight_sum) if k in kept else Fraction(0))
                    for k in COMPONENTS}

    warnings = []
    reasons = {k: empty[k] for k in dropped}
    if weight_sum == 0:
        warnings.append(ResultWarning(ALL_COMPONENTS_EMPTY, {
            "components": dropped, "reasons": reasons, "weights": weights.as_dict()}))
    elif dropped:
        warnings.append(ResultWarning(COMPONENTS_DROPPED, {
            "components": dropped, "reasons": reasons, "weights": weights.as_dict(),
            "weights_used": weights_used}))
    if not judge_summary.empty:
        missing = _sorted_ids(i for i in finalist_ids if judge_details[i].value is None)
        if missing:
            warnings.append(ResultWarning(MISSING_JUDGE_SCORES, {"finalists": missing}))

    rows = []
    for i in finalist_ids:
        values = {g: vote_components[g][i] for g in GROUPS}
        values["judges"] = judge_details[i].value
        if weight_sum:
            score = sum((weights.of(k) * (values[k] or 0) for k in kept), Fraction(0)) / weight_sum
        else:
            score = Fraction(0)
        rows.append(_Row(i, {g: group_votes[g].approvals.get(i, 0) for g in GROUPS},
                         values, score, judge_details[i]))

    groups = rank_groups(rows, settings.tie_break)
    results, unresolved, used = _place(groups, settings.tiers, resolutions)
    for resolution in resolutions:
        if resolution not in used:
            warnings.append(ResultWarning(TIE_RESOLUTION_UNUSED, {
                "finalists": _sorted_ids(resolution.finalists), "method": resolution.method}))

    return Standings(
        settings=settings,
        results=tuple(results),
        groups=MappingProxyType(summaries),
        judges=judge_summary,
        kept=kept,
        weights_used=MappingProxyType(weights_used),
        empty_components=empty_components,
        warnings=tuple(warnings),
        unresolved_ties=tuple(unresolved),
    )


def normalize_votes(normalization: str, group: str, votes: GroupVotes,
                    finalists: Sequence[Hashable]) -> tuple[GroupSummary, dict]:
    """C_g(i) for every finalist, by the category's normalization:

    * ``top``:    C_g(i) = 100 * v_g(i) / max_k v_g(k)
    * ``share``:  C_g(i) = 100 * v_g(i) / B_g
    * ``minmax``: C_g(i) = 100 * (v_g(i) - min v_g) / (max v_g - min v_g)

    Where the denominator is 0 every C_g(i) is 0 and the component is empty.
    """
    counts = {i: votes.approvals.get(i, 0) for i in finalists}
    high = max(counts.values(), default=0)
    low = min(counts.values(), default=0)
    offset, reason = 0, None
    if normalization == "top":
        denominator = high
        if denominator == 0:
            reason = NO_APPROVALS
    elif normalization == "share":
        denominator = votes.ballots
        if denominator == 0:
            reason = NO_BALLOTS
    elif normalization == "minmax":
        offset, denominator = low, high - low
        if denominator == 0:
            reason = NO_APPROVALS if high == 0 else ALL_EQUAL
    else:
        raise ValueError(f"unknown vote normalization {normalization!r}")
    if reason:
        values = {i: Fraction(0) for i in finalists}
    else:
        values = {i: Fraction(100 * (counts[i] - offset), denominator) for i in finalists}
    summary = GroupSummary(group, normalization, votes.ballots, offset,
                           denominator if not reason else 0, reason)
    return summary, values


def integer_rubric(criteria):
    """(id, weight, max) as ints when every weight and maximum is whole, else None."""
    if all(Fraction(c.weight).denominator == 1 and Fraction(c.max_score).denominator == 1 for c in criteria):
        return tuple((c.id, int(c.weight), int(c.max_score)) for c in criteria)
    return None


def sheet_total(criteria: Sequence[Criterion], scores: Mapping[Hashable, Any], rubric=None) -> Fraction:
    """T_ij = 100 * sum_c(w_c * x_ijc) / sum_c(w_c * max_c), exactly.

    ``rubric`` is integer_rubric(criteria), passed in when many sheets share the criteria.
    """
    if set(scores) != {c.id for c in criteria}:
        raise ValueError("a sheet must score exactly the category's criteria")
    if rubric is None:
        rubric = integer_rubric(criteria)
    if rubric is not None and all(type(scores[i]) is int for i, _w, _m in rubric):
        # Whole weights and scores: the same exact value, with integers until the one division.
        numerator = denominator = 0
        for criterion_id, weight, maximum in rubric:
            x = scores[criterion_id]
            if not 0 <= x <= maximum:
                raise ValueError(f"score {x} for criterion {criterion_id!r} is outside 0..{maximum}")
            numerator += weight * x
            denominator += weight * maximum
        if denominator == 0:
            raise ValueError("the rubric needs a criterion with a positive weight")
        return Fraction(100 * numerator, denominator)
    denominator = sum((Fraction(c.weight) * c.max_score for c in criteria), Fraction(0))
    if denominator == 0:
        raise ValueError("the rubric needs a criterion with a positive weight")
    numerator = Fraction(0)
    for c in criteria:
        x = _to_fraction(scores[c.id], "score")
        if not 0 <= x <= c.max_score:
            raise ValueError(f"score {x} for criterion {c.id!r} is outside 0..{c.max_score}")
        numerator += c.weight * x
    return _HUNDRED * numerator / denominator


def aggregate_judges(settings: CategorySettings, sheets: Iterable[Sheet],
                     finalists: Sequence[Hashable]) -> tuple[JudgeSummary, dict]:
    """J(i) for every finalist (None: no judge score), by the category's aggregation:

    * ``mean``: the mean of T_ij over the judges with a submitted sheet for i;
    * ``trimmed``: as mean, but with 5 or more sheets one highest and one lowest dropped;
    * ``zscore``: z_ij = (T_ij - mu_j) / sigma_j over all sheets of judge j in the category
      (population SD; z = 0 where sigma_j = 0); Z_i = mean of z_ij (floats); J is the float
      linear rescale of the unrounded Z so that min Z and max Z map to the min and max of
      the `mean` values, rounded half up to 9 decimals (all Z equal after rounding to 9
      decimals: the `mean` values).

    If no finalist has a sheet the component is empty.
    """
    known = set(finalists)
    aggregation = settings.judge_aggregation
    totals: dict[Hashable, list] = {i: [] for i in finalists}
    seen = set()
    rubric = integer_rubric(settings.criteria)
    for sheet in sheets:
        if sheet.finalist not in known:
            raise ValueError(f"a sheet names an unknown finalist {sheet.finalist!r}")
        if (sheet.judge, sheet.finalist) in seen:
            raise ValueError(f"judge {sheet.judge!r} has two sheets for {sheet.finalist!r}")
        seen.add((sheet.judge, sheet.finalist))
        totals[sheet.finalist].append((sheet.judge, sheet_total(settings.criteria, sheet.scores, rubric)))
    for i in totals:
        totals[i].sort(key=lambda pair: _id_key(pair[0]))

    means = {i: (sum((t for _, t in pairs), Fraction(0)) / len(pairs) if pairs else None)
             for i, pairs in totals.items()}
    if all(m is None for m in means.values()):
        details = {i: JudgeDetail((), None, None, None, None, None) for i in finalists}
        return JudgeSummary(aggregation, NO_SHEETS), details

    if aggregation == "mean":
        details = {i: JudgeDetail(tuple(SheetTotal(j, t) for j, t in totals[i]),
                                  means[i], None, None, None, means[i]) for i in finalists}
        return JudgeSummary(aggregation, None), details

    if aggregation == "trimmed":
        details = {}
        for i in finalists:
            pairs = totals[i]
            dropped = set()
            value = means[i]
            if len(pairs) >= TRIM_MIN_SHEETS:
                by_total = sorted(pairs, key=lambda pair: (pair[1], _id_key(pair[0])))
                dropped = {by_total[0][0], by_total[-1][0]}
                kept = by_total[1:-1]
                value = sum((t for _, t in kept), Fraction(0)) / len(kept)
            details[i] = JudgeDetail(tuple(SheetTotal(j, t, dropped=j in dropped) for j, t in pairs),
                                     means[i], value if pairs else None, None, None, value)
        return JudgeSummary(aggregation, None), details

    if aggregation != "zscore":
        raise ValueError(f"unknown judge aggregation {aggregation!r}")

    by_judge: dict[Hashable, list[Fraction]] = {}
    for pairs in totals.values():
        for j, t in pairs:
            by_judge.setdefault(j, []).append(t)
    stats = {}
    for j, values in by_judge.items():
        mu = sum(values, Fraction(0)) / len(values)
        variance = sum(((t - mu) ** 2 for t in values), Fraction(0)) / len(values)
        stats[j] = JudgeStats(j, len(values), mu, variance, math.sqrt(variance))

    def z_of(j, t):
        s = stats[j]
        return 0.0 if s.variance == 0 else float(t - s.mean) / s.sd

    z_sheets, z_mean, z_rounded = {}, {}, {}
    for i in finalists:
        if totals[i]:
            z_sheets[i] = [z_of(j, t) for j, t in totals[i]]
            z_mean[i] = math.fsum(z_sheets[i]) / len(z_sheets[i])
            z_rounded[i] = round_float(z_mean[i], ZSCORE_DECIMALS)
    z_lo, z_hi = min(z_rounded.values()), max(z_rounded.values())
    scored_means = [m for m in means.values() if m is not None]
    m_lo, m_hi = min(scored_means), max(scored_means)
    rescaled = z_lo != z_hi  # "all Z equal" is judged on Z rounded to 9 decimals
    # The rescale itself is of the unrounded Z, in floating point, in exactly this order.
    float_lo, float_hi = min(z_mean.values()), max(z_mean.values())
    float_m_lo, float_m_hi = float(m_lo), float(m_hi)
    details = {}
    for i in finalists:
        if not totals[i]:
            details[i] = JudgeDetail((), None, None, None, None, None)
            continue
        if rescaled:
            rescaled_j = float_m_lo + (z_mean[i] - float_lo) * (float_m_hi - float_m_lo) / (float_hi - float_lo)
            value = round_float(rescaled_j, ZSCORE_DECIMALS)
        else:
            value = means[i]
        sheets_i = tuple(SheetTotal(j, t, z=z) for (j, t), z in zip(totals[i], z_sheets[i]))
        details[i] = JudgeDetail(sheets_i, means[i], None, z_mean[i], z_rounded[i], value)
    summary = JudgeSummary(
        aggregation, None,
        judges=tuple(stats[j] for j in _sorted_ids(stats)),
        z_range=(z_lo, z_hi), mean_range=(m_lo, m_hi), rescaled=rescaled,
    )
    return summary, details


@dataclass
class _Row:
    finalist: Hashable
    votes: dict
    values: dict
    score: Fraction
    judge_detail: JudgeDetail


def rank_groups(rows: Iterable, tie_break: Sequence[str]) -> list[list]:
    """Orders the finalists and groups those that stay tied.

    The rule, published in advance (DESIGN.md, "Ranking and ties"):

    1. Sort by the total S descending.  S values are compared exactly, as fractions (in a
       `zscore` category S is exact too, over J rounded to 9 decimals, so the judge
       component is in effect compared after rounding to 9 decimals).
    2. Exactly equal S is broken by the category's tie-break chain, in order; the default
       chain is: higher J (judges) - a finalist with no judge score counts as lower than
       any score -, then higher C_resident, then higher C_official.  A link compares exact
       values; equal values pass to the next link.
    3. Finalists still equal after the whole chain are tied: they share a rank (competition
       ranking: 1, 2, 2, 4), each lists the others in ``tied_with``, and they are listed by
       id ascending, which carries no meaning.
    4. A tie that crosses an award-tier boundary must be resolved by the organizer (a
       recorded draw with its seed, or a joint award) before results can be frozen; tiers
       are filled in rank order (see ``_place``).

    ``rows`` need ``score`` and ``values`` (a mapping component -> value); returns the list
    of tie groups in rank order.
    """
    def key(row):
        parts = [row.score]
        for link in tie_break:
            value = row.values[link]
            parts.append((0, Fraction(0)) if value is None else (1, value))
        return tuple(parts)

    ordered = sorted(rows, key=lambda row: (key(row), _NegId(row.finalist)), reverse=True)
    groups: list[list] = []
    last = object()
    for row in ordered:
        k = key(row)
        if groups and k == last:
            groups[-1].append(row)
        else:
            groups.append([row])
            last = k
    return groups


def _place(groups, tiers, resolutions):
    """Applies tie resolutions, assigns ranks and fills the tiers in rank order.

    Tier t covers places [sum of earlier counts, + count); a group of n finalists starting
    at place p occupies p .. p+n-1.  A group whose places fall in one tier (or all beyond
    the last tier) gets that tier.  Otherwise it crosses a boundary: a `joint` resolution
    gives every member the better tier (the group still consumes its n places, so later
    tiers shrink); a `draw` has already split the group into single places in drawn order;
    with no resolution the members get no tier and the tie is reported as unresolved.
    """
    by_set = {r.finalists: r for r in resolutions}
    bounds, end = [], 0
    for tier in tiers:
        end += tier.count
        bounds.append(end)

    def tier_index(place):
        for index, bound in enumerate(bounds):
            if place < bound:
                return index
        return None

    def name(index):
        return None if index is None else tiers[index].name

    # Split drawn groups into single places.
    slots, used = [], set()
    for group in groups:
        resolution = by_set.get(frozenset(row.finalist for row in group)) if len(group) > 1 else None
        if resolution is not None:
            used.add(resolution)
        if resolution is not None and resolution.method == "draw":
            order = draw_order([row.finalist for row in group], resolution.seed)
            if resolution.order is not None and tuple(resolution.order) != order:
                raise ValueError(f"the recorded draw order {resolution.order!r} does not replay "
                                 f"from its seed (gives {order!r})")
            by_id = {row.finalist: row for row in group}
            slots.extend(([by_id[i]], resolution) for i in order)
        else:
            slots.append((group, resolution))

    results, unresolved, place = [], [], 0
    for members, resolution in slots:
        n = len(members)
        first, last = tier_index(place), tier_index(place + n - 1)
        tier = name(first)
        if first != last and not (resolution and resolution.method == "joint"):
            tier = None
            span = list(range(first, len(tiers) if last is None else last + 1))
            spanned = tuple(name(k) for k in span) + ((None,) if last is None else ())
            unresolved.append(UnresolvedTie(
                finalists=tuple(row.finalist for row in members), rank=place + 1,
                tiers=spanned, places=bounds[first] - place))
        ids = [row.finalist for row in members]
        for row in members:
            results.append(FinalistResult(
                finalist=row.finalist,
                votes=MappingProxyType(dict(row.votes)),
                resident=row.values["resident"],
                official=row.values["official"],
                judges=row.values["judges"],
                score=row.score,
                rank=place + 1,
                tier=tier,
                tied_with=tuple(i for i in ids if i != row.finalist),
                resolution=resolution,
                judge_detail=row.judge_detail,
            ))
        place += n
    return results, unresolved, used


def rank_with_weights(standings: Standings, weights: Mapping[str, Any],
                      resolutions: Iterable[TieResolution] = ()) -> tuple[tuple, tuple]:
    """The results and unresolved ties the same component values give under other weights
    (for the sensitivity check).  ``weights`` maps every component to a non-negative number,
    fractions allowed; S(i) = sum(w * C(i)) / sum(w) over the components that are not empty
    and have w > 0, as in :func:`compute_standings`; the chain, tiers and resolutions apply
    as there.  Returns (results in rank order, unresolved ties)."""
    used = {k: _to_fraction(weights[k], f"weight {k}") for k in COMPONENTS}
    if any(w < 0 for w in used.values()):
        raise ValueError("weights must be non-negative")
    kept = [k for k in COMPONENTS if k not in standings.empty_components and used[k] > 0]
    weight_sum = sum((used[k] for k in kept), Fraction(0))
    rows = []
    for row in standings.results:
        values = {key: row.component(key) for key in COMPONENTS}
        score = (sum((used[k] * (values[k] or 0) for k in kept), Fraction(0)) / weight_sum
                 if weight_sum else Fraction(0))
        rows.append(_Row(row.finalist, dict(row.votes), values, score, row.judge_detail))
    groups = rank_groups(rows, standings.settings.tie_break)
    results, unresolved, _used = _place(groups, standings.settings.tiers, tuple(resolutions))
    return tuple(results), tuple(unresolved)


def draw_order(finalist_ids: Iterable[Hashable], seed: str) -> tuple:
    """The order a recorded draw gives, best first; anyone can replay it::

        ids = sorted(finalist_ids)            # ascending: ints numerically, strings by code point
        random.Random(seed).shuffle(ids)      # CPython's Mersenne Twister, str seed
    """
    if not isinstance(seed, str):
        raise ValueError("the seed of a draw is a string")
    ids = _sorted_ids(set(finalist_ids))
    random.Random(seed).shuffle(ids)
    return tuple(ids)


def explain(standings: Standings, finalist: Hashable) -> Explanation:
    """The total of one finalist in plain data, for the UI to write out:
    S = (sum over included components of weight * value) / (sum of their weights)."""
    row = standings.result(finalist)
    weights = standings.settings.weights
    terms = []
    for key in COMPONENTS:
        value = row.component(key)
        empty = (standings.judges.empty if key == "judges" else standings.groups[key].empty)
        terms.append(Term(
            component=key, weight=weights.of(key), weight_used=standings.weights_used[key],
            value=value, product=weights.of(key) * (value or Fraction(0)),
            included=key in standings.kept, empty=empty,
        ))
    weight_sum = sum(t.weight for t in terms if t.included)
    product_sum = sum((t.product for t in terms if t.included), Fraction(0))
    votes = {}
    for group in GROUPS:
        summary = standings.groups[group]
        votes[group] = VoteTerm(group, row.votes[group], summary.ballots, summary.normalization,
                                summary.offset, summary.denominator, row.component(group),
                                summary.empty)
    return Explanation(
        finalist=finalist, score=row.score, rank=row.rank, tier=row.tier,
        tied_with=row.tied_with, terms=tuple(terms), weight_sum=weight_sum,
        product_sum=product_sum, all_empty=weight_sum == 0,
        votes=MappingProxyType(votes), aggregation=standings.judges.aggregation,
        judges=row.judge_detail,
    )


# ---------------------------------------------------------------------------
# Numbers as text
# ---------------------------------------------------------------------------

def display(value: Fraction | int | None) -> str:
    """Two decimals, half up (away from zero), from the exact value, never via float:
    2/3 -> "0.67", 25/2 -> "12.50", 1/8 -> "0.13".  None (no judge score) -> ""."""
    if value is None:
        return ""
    value = Fraction(value)
    sign = "-" if value < 0 else ""
    # Half up at two decimals depends only on the third decimal of the truncated value.
    truncated = Decimal(math.floor(abs(value) * 1000)).scaleb(-3)
    rounded = truncated.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{rounded:.2f}"
    return sign + text if rounded else text


def fraction_text(value: Fraction | int) -> str:
    """The exact value as "p/q" (always with the denominator: 3 -> "3/1")."""
    value = Fraction(value)
    return f"{value.numerator}/{value.denominator}"


def parse_fraction(text: str) -> Fraction:
    """The inverse of :func:`fraction_text` (also accepts "3" and "2.5")."""
    return Fraction(text)


def round_float(value: float, decimals: int) -> Fraction:
    """The exact binary value of a float, rounded half up to ``decimals`` places."""
    exact = Decimal(value)
    return Fraction(exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP,
                                   context=_DECIMAL_CONTEXT))


# ---------------------------------------------------------------------------
# Votes and the transparency bundle
# ---------------------------------------------------------------------------

def tally(approval_lists: Iterable[Iterable[Hashable]],
          paper: Iterable[tuple[int, Mapping[Hashable, int]]] = ()) -> GroupVotes:
    """GroupVotes of one group from its ballots (one iterable of approved finalist ids
    per ballot, whatever the channel) and its paper totals ((ballots, {id: count}) pairs).
    B_g counts every ballot; v_g(i) every approval."""
    ballots, approvals = 0, {}
    for approved in approval_lists:
        ballots += 1
        approved = list(approved)
        if len(set(approved)) != len(approved):
            raise ValueError("a ballot approves a finalist at most once")
        for i in approved:
            approvals[i] = approvals.get(i, 0) + 1
    for count, totals in paper:
        if not _is_int(count) or count < 0:
            raise ValueError("paper ballots must be a non-negative integer")
        ballots += count
        for i, n in totals.items():
            if not _is_int(n) or not 0 <= n <= count:
                raise ValueError(f"paper approvals of {i!r} must be within 0..{count}")
            approvals[i] = approvals.get(i, 0) + n
    return GroupVotes(ballots, approvals)


def bundle_results(standings: Standings) -> list[dict]:
    """The "results" list of a bundle category (exact values as "p/q")."""
    return [{
        "finalist": row.finalist,
        "votes": dict(row.votes),
        "components": {
            "resident": fraction_text(row.resident),
            "official": fraction_text(row.official),
            "judges": None if row.judges is None else fraction_text(row.judges),
        },
        "score": fraction_text(row.score),
        "score_display": display(row.score),
        "rank": row.rank,
        "tier": row.tier,
        "tied_with": list(row.tied_with),
    } for row in standings.results]


def bundle_warnings(standings: Standings) -> list[dict]:
    """The "warnings" list of a bundle category: {"code", "data"}, JSON-ready."""
    return [{"code": w.code, "data": _jsonable(w.data)} for w in standings.warnings]


def inputs_from_bundle(category: Mapping[str, Any]) -> dict:
    """The keyword arguments of :func:`compute_standings` from one category of a
    `voting-results-bundle/1` document (after json.loads), so anyone can recompute."""
    finalists = [f["id"] for f in category["finalists"]]
    by_text = {str(i): i for i in finalists}

    def finalist_id(value):
        return value if value in finalists else by_text.get(str(value), value)

    settings = CategorySettings(
        weights=Weights(**category["weights"]),
        vote_normalization=category.get("vote_normalization", "top"),
        judge_aggregation=category.get("judge_aggregation", "mean"),
        tie_break=tuple(category.get("tie_break", DEFAULT_TIE_BREAK)),
        tiers=tuple(Tier(t["name"], t["count"]) for t in category.get("tiers", ())),
        criteria=tuple(Criterion(c["id"], c["weight"], c["max"])
                       for c in category.get("criteria", ())),
    )
    criterion_ids = {str(c.id): c.id for c in settings.criteria}
    for entry in (*category.get("ballots", ()), *category.get("paper_totals", ())):
        if entry["group"] not in GROUPS:
            raise ValueError(f"a ballot or paper total of the unknown group {entry['group']!r}")
    votes = {}
    for group in GROUPS:
        ballots = [[finalist_id(i) for i in b["approvals"]]
                   for b in category.get("ballots", ()) if b["group"] == group]
        paper = [(p["ballots"], {finalist_id(i): n for i, n in p["approvals"].items()})
                 for p in category.get("paper_totals", ()) if p["group"] == group]
        votes[group] = tally(ballots, paper)
    sheets = [Sheet(s["judge"], finalist_id(s["finalist"]),
                    {criterion_ids.get(str(c), c): x for c, x in s["scores"].items()})
              for s in category.get("sheets", ())]
    resolutions = [TieResolution(frozenset(finalist_id(i) for i in r["finalists"]), r["method"],
                                 r.get("seed"),
                                 None if r.get("order") is None
                                 else tuple(finalist_id(i) for i in r["order"]))
                   for r in category.get("tie_resolutions", ())]
    return {"settings": settings, "finalists": finalists, "votes": votes,
            "sheets": sheets, "resolutions": resolutions}


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def _id_key(value):
    """Ids ascending: ints numerically, strings by code point, anything else by repr."""
    if _is_int(value):
        return (0, value, "")
    if isinstance(value, str):
        return (1, 0, value)
    return (2, 0, repr(value))


class _NegId:
    """Sort helper: with reverse=True, ids still come out ascending."""

    __slots__ = ("key",)

    def __init__(self, value):
        self.key = _id_key(value)

    def __lt__(self, other):
        return self.key > other.key

    def __eq__(self, other):
        return self.key == other.key


def _sorted_ids(ids: Iterable[Hashable]) -> list:
    return sorted(ids, key=_id_key)


def _check_finalists(finalists) -> tuple:
    ids = tuple(finalists)
    if len(set(ids)) != len(ids):
        raise ValueError("finalist ids must be distinct")
    return ids


def _check_resolutions(resolutions, known) -> tuple:
    resolutions = tuple(resolutions)
    seen = set()
    for resolution in resolutions:
        unknown = [i for i in resolution.finalists if i not in known]
        if unknown:
            raise ValueError(f"a tie resolution names unknown finalists {unknown!r}")
        if resolution.finalists in seen:
            raise ValueError("two tie resolutions name the same finalists")
        seen.add(resolution.finalists)
    return resolutions


def _jsonable(value):
    if isinstance(value, Fraction):
        return fraction_text(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = _sorted_ids(value) if isinstance(value, (set, frozenset)) else value
        return [_jsonable(v) for v in items]
    return value
