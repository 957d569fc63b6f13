"""The award reveal as a list of slides, built from the frozen results only.

Frozen results never change, so the slides shown on the day are the results that were
published, not a live computation that could differ by a late change. Within a category the
tiers come from the lowest to the best (exports.awards.tiers_lowest_first), as an award
ceremony announces them.
"""
from dataclasses import dataclass, field

from voting.exports.awards import tiers_lowest_first
from voting.results import scoring

TITLE, CATEGORY, TIER, CLOSING = "title", "category", "tier", "closing"


@dataclass(frozen=True)
class Awardee:
    finalist_id: int
    title: str
    nominee: str | None
    score: str  # two decimals, half up (scoring.display)
    joint: bool


@dataclass(frozen=True)
class Slide:
    kind: str
    category_id: int | None = None
    category: str | None = None
    tier: str | None = None
    awardees: tuple = field(default_factory=tuple)


def _awardee(award):
    finalist = award.finalist
    return Awardee(
        finalist_id=finalist.id,
        title=finalist.title,
        nominee=finalist.nominee,
        score=scoring.display(award.row.score),
        joint=award.joint,
    )


def slides(frozen):
    """Title, then per category (in category order) its title and its tiers lowest first, then
    the closing slide. A category whose tiers nobody received still gets its title slide."""
    shown = [Slide(TITLE)]
    for results in frozen.categories:
        shown.append(Slide(CATEGORY, category_id=results.id, category=results.name))
        for tier, awards in tiers_lowest_first(results):
            shown.append(Slide(TIER, category_id=results.id, category=results.name, tier=tier,
                               awardees=tuple(_awardee(award) for award in awards)))
    shown.append(Slide(CLOSING))
    return shown


def awardee_density(count):
    """CSS class suffix: fewer awardees on a slide, larger names."""
    if count <= 1:
        return 1
    if count == 2:
        return 2
    if count <= 4:
        return 3
    if count <= 6:
        return 4
    return 5
