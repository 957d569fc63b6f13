"""Would the award winners change under slightly different settings?  Pure Python, like scoring.

For one category it tries:

* every weight moved by +5 and by -5 points, the other two scaled in proportion so that the
  three still sum to 100 (a move that would leave 0..100 is skipped, as is one that would have
  to scale two weights that are both 0);
* each of the other vote normalizations, the weights unchanged.

The winners are the finalists who get an award tier; members of a tie still to be settled
across a boundary count as "undecided".  A change *flips* the result when the winners or the
undecided differ; one that keeps the winners but gives some of them another tier is reported
separately.  The recorded tie decisions apply in every scenario (they bind only where the same
finalists are tied again).
"""
from dataclasses import dataclass, replace
from fractions import Fraction

from voting.results import scoring

STEP = 5


@dataclass(frozen=True)
class Scenario:
    kind: str                          # "weight" or "normalization"
    weights: dict                      # component -> Fraction
    normalization: str
    component: str | None = None       # weight moves: which weight moved
    delta: int = 0                     # weight moves: +5 or -5


@dataclass(frozen=True)
class Change:
    scenario: Scenario
    gained: tuple        # finalists who would win (or be undecided) and now do not
    lost: tuple          # finalists who win now and would not
    tiers: dict          # finalist -> (tier now, tier then), for those whose tier changes


@dataclass(frozen=True)
class Sensitivity:
    winners: tuple
    checked: tuple       # scenarios tried
    skipped: tuple       # (component, delta) weight moves left out
    flips: tuple         # Change: the set of winners changes
    tier_changes: tuple  # Change: same winners, some tiers differ

    @property
    def robust(self):
        return not self.flips


def _outcome(results, unresolved):
    undecided = {i for tie in unresolved for i in tie.finalists}
    winners = {row.finalist for row in results if row.tier is not None}
    tiers = {row.finalist: row.tier for row in results}
    return frozenset(winners), frozenset(undecided), tiers


def moved_weights(weights, component, delta):
    """The weights with ``component`` moved by ``delta`` and the other two scaled to keep 100,
    or None when the move is not possible."""
    current = {k: Fraction(weights.of(k)) for k in scoring.COMPONENTS}
    target = current[component] + delta
    others = [k for k in scoring.COMPONENTS if k != component]
    rest = sum(current[k] for k in others)
    if not 0 <= target <= 100 or rest == 0:
        return None
    moved = {component: target}
    for k in others:
        moved[k] = current[k] * (100 - target) / rest
    return moved


def check(inputs, standings):
    """``inputs``: the keyword arguments of scoring.compute_standings that gave ``standings``."""
    settings = inputs["settings"]
    resolutions = tuple(inputs.get("resolutions", ()))
    base = _outcome(standings.results, standings.unresolved_ties)
    checked, skipped, flips, tier_changes = [], [], [], []

    def compare(scenario, results, unresolved):
        checked.append(scenario)
        winners, undecided, tiers = _outcome(results, unresolved)
        before = base[0] | base[1]
        after = winners | undecided
        changed = {i: (base[2].get(i), tiers.get(i)) for i in tiers if tiers.get(i) != base[2].get(i)}
        if (winners, undecided) != base[:2]:
            flips.append(Change(scenario, tuple(sorted(after - before)), tuple(sorted(before - after)), changed))
        elif changed:
            tier_changes.append(Change(scenario, (), (), changed))

    for component in scoring.COMPONENTS:
        for delta in (STEP, -STEP):
            weights = moved_weights(settings.weights, component, delta)
            if weights is None:
                skipped.append((component, delta))
                continue
            results, unresolved = scoring.rank_with_weights(standings, weights, resolutions)
            compare(Scenario("weight", weights, settings.vote_normalization, component, delta), results, unresolved)

    current = {k: Fraction(settings.weights.of(k)) for k in scoring.COMPONENTS}
    for normalization in scoring.NORMALIZATIONS:
        if normalization == settings.vote_normalization:
            continue
        other = scoring.compute_standings(**{**inputs, "settings": replace(settings, vote_normalization=normalization)})
        compare(Scenario("normalization", current, normalization), other.results, other.unresolved_ties)

    return Sensitivity(
        winners=tuple(sorted(base[0])),
        checked=tuple(checked),
        skipped=tuple(skipped),
        flips=tuple(flips),
        tier_changes=tuple(tier_changes),
    )
