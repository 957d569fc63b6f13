"""Who receives which award, read from frozen results: what the exports, the certificates,
the award reveal and the archive all list.

Tiers are listed as the category defines them, best first (대상, 최우수상 ...); within a tier,
awardees follow their rank.  Finalists of a joint award share a tier and are marked ``joint``.
"""
from dataclasses import dataclass

from voting.results.operations import CategoryResults, Finalist
from voting.results.scoring import FinalistResult


@dataclass(frozen=True)
class Award:
    category: CategoryResults
    row: FinalistResult
    tier: str
    tier_index: int   # 0 = the best tier of its category

    @property
    def finalist(self) -> Finalist:
        return self.category.finalists[self.row.finalist]

    @property
    def joint(self) -> bool:
        """Shares its place with another finalist (a joint award, or a tie inside one tier)."""
        return bool(self.row.tied_with)


def category_awards(results):
    """The awards of one category (CategoryResults with standings), best tier first."""
    order = {tier.name: index for index, tier in enumerate(results.settings.tiers)}
    awards = [
        Award(results, row, row.tier, order[row.tier])
        for row in results.standings.results
        if row.tier is not None
    ]
    awards.sort(key=lambda award: (award.tier_index, award.row.rank, award.row.finalist))
    return awards


def event_awards(categories):
    """The awards of every category, in category order."""
    return [award for results in categories for award in category_awards(results)]


def tiers_lowest_first(results):
    """[(tier name, [Award ...])] of one category from the lowest tier to the best, skipping
    tiers nobody received: the order of the award reveal."""
    awards = category_awards(results)
    steps = []
    for index in reversed(range(len(results.settings.tiers))):
        received = [award for award in awards if award.tier_index == index]
        if received:
            steps.append((results.settings.tiers[index].name, received))
    return steps
