"""Results from the database: scoring inputs, tie decisions, freezing and publishing.

The rule itself is in :mod:`voting.results.scoring` (pure); this module turns rows into its
inputs and records what the organizers decide.  Operations flush, never commit: the route
or command commits once.

Until an event is frozen its results are computed from the live tables (:func:`category_results`);
once frozen, from the stored snapshot only (:mod:`voting.results.bundle`), so what is shown and
published is exactly what was frozen.
"""
import hashlib
import secrets
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import case, func, select

from voting.audit import operations as audit
from voting.ballots.models import BallotApproval, PaperApproval, PaperTotal
from voting.database import begin_write, utcnow
from voting.events.models import Event, EventState
from voting.events.operations import NotAllowed, ensure_unlocked
from voting.extensions import db
from voting.judging import operations as judging
from voting.judging.models import ScoreSheet, SheetStatus
from voting.nominations.models import Nomination, NominationState
from voting.results import scoring
from voting.results.models import ResultSnapshot, TieDecision, TieMethod
from voting.sealing import operations as sealing

GROUPS = scoring.GROUPS
CHANNELS = ("online", "onsite", "paper")

# Codes of the warnings this module adds to the scoring module's own (ResultWarning codes).
SHEETS_LEFT_OUT = "sheets_left_out"          # submitted sheets that do not fit the rubric now
APPROVALS_LEFT_OUT = "approvals_left_out"    # approvals of nominations that are no longer finalists


@dataclass(frozen=True)
class Finalist:
    id: int
    title: str
    nominee: str | None = None


@dataclass
class ChannelVotes:
    """Ballots of one group through one channel, and the approvals each finalist got there."""

    ballots: int = 0
    approvals: dict = field(default_factory=dict)


@dataclass
class CategoryResults:
    """Everything the pages show about one category: its inputs and the computed standings."""

    id: int
    name: str
    kind: str
    max_approvals: int
    settings: scoring.CategorySettings
    criteria_names: dict            # criterion id -> name
    finalists: dict                 # finalist id -> Finalist
    channels: dict                  # group -> channel -> ChannelVotes (paper only when entered)
    votes: dict                     # group -> scoring.GroupVotes (every channel)
    sheets: list                    # scoring.Sheet, submitted only
    recusals: list                  # (judge, finalist)
    resolutions: list               # scoring.TieResolution
    notes: list                     # app-level warnings: {"code", "data"}
    drafts: int = 0                 # sheets still in draft (live results only)
    standings: scoring.Standings | None = None

    def scoring_inputs(self):
        """The keyword arguments of scoring.compute_standings."""
        return {
            "settings": self.settings,
            "finalists": sorted(self.finalists),
            "votes": self.votes,
            "sheets": self.sheets,
            "resolutions": self.resolutions,
        }

    def compute(self):
        self.standings = scoring.compute_standings(**self.scoring_inputs())
        return self

    def title(self, finalist_id):
        return self.finalists[finalist_id].title

    def titles(self, finalist_ids):
        return ", ".join(self.title(i) for i in finalist_ids)

    @property
    def warnings(self):
        """The scoring module's warnings and this module's, as {"code", "data"} dicts."""
        return scoring.bundle_warnings(self.standings) + list(self.notes)

    def sheet_count(self, finalist_id):
        return sum(1 for sheet in self.sheets if sheet.finalist == finalist_id)

    def channel_approvals(self, group, channel, finalist_id):
        votes = self.channels.get(group, {}).get(channel)
        return 0 if votes is None else votes.approvals.get(finalist_id, 0)

    def channel_ballots(self, group, channel):
        votes = self.channels.get(group, {}).get(channel)
        return 0 if votes is None else votes.ballots


# ---------------------------------------------------------------------------
# Inputs from the database


def settings_of(category):
    """The category's settings as the scoring module reads them (criteria by their ids)."""
    return scoring.CategorySettings(
        weights=scoring.Weights(category.weight_resident, category.weight_official, category.weight_judges),
        vote_normalization=category.vote_normalization.value,
        judge_aggregation=category.judge_aggregation.value,
        tie_break=tuple(category.tie_break_chain),
        tiers=tuple(scoring.Tier(t.name, t.count) for t in category.tiers),
        criteria=tuple(scoring.Criterion(c.id, c.weight, c.max_score) for c in category.criteria),
    )


def finalists_of(category):
    rows = db.session.execute(
        select(Nomination.id, Nomination.title, Nomination.nominee_name)
        .where(Nomination.category_id == category.id, Nomination.state == NominationState.FINALIST)
        .order_by(Nomination.id)
    )
    person = category.is_person
    return {i: Finalist(i, title, nominee if person else None) for i, title, nominee in rows}


def channel_votes(category, finalist_ids):
    """Ballots and approvals per group and channel, counted by the database (GROUP BY).

    Returns (channels, left_out): approvals of nominations that are not finalists (any more)
    are not counted; left_out says how many there were.  Their ballots still count in B_g.
    """
    channels = {group: {} for group in GROUPS}
    left_out = 0
    # One pass over the covering index: each ballot has exactly one approval that opens it,
    # so summing opens_ballot counts the ballots while count(*) counts the approvals.
    for group, channel, nomination_id, number, opened in db.session.execute(
        select(
            BallotApproval.group,
            BallotApproval.channel,
            BallotApproval.nomination_id,
            func.count(),
            func.sum(case((BallotApproval.opens_ballot, 1), else_=0)),
        )
        .where(BallotApproval.category_id == category.id)
        .group_by(BallotApproval.group, BallotApproval.channel, BallotApproval.nomination_id)
    ):
        part = channels[group.value].setdefault(channel.value, ChannelVotes(0))
        part.ballots += opened
        if nomination_id in finalist_ids:
            part.approvals[nomination_id] = number
        else:
            left_out += number
    totals = {
        total_id: (group.value, ballots)
        for total_id, group, ballots in db.session.execute(
            select(PaperTotal.id, PaperTotal.group, PaperTotal.ballots).where(PaperTotal.category_id == category.id)
        )
    }
    for total_id, (group, ballots) in totals.items():
        channels[group]["paper"] = ChannelVotes(ballots)
    if totals:
        for total_id, nomination_id, number in db.session.execute(
            select(PaperApproval.total_id, PaperApproval.nomination_id, PaperApproval.count)
            .where(PaperApproval.total_id.in_(list(totals)))
        ):
            if nomination_id in finalist_ids:
                if number:
                    channels[totals[total_id][0]]["paper"].approvals[nomination_id] = number
            else:
                left_out += number
    return channels, left_out


def group_votes(channels):
    """B_g and v_g(i) of each group: every channel added up (paper ballots included)."""
    votes = {}
    for group in GROUPS:
        ballots, approvals = 0, {}
        for part in channels.get(group, {}).values():
            ballots += part.ballots
            for finalist, number in part.approvals.items():
                approvals[finalist] = approvals.get(finalist, 0) + number
        votes[group] = scoring.GroupVotes(ballots, approvals)
    return votes


def _sheet_rows(category):
    """(judge id, nomination id, {criterion id: value}) of every submitted sheet, and the recusals."""
    return list(judging.submitted_sheets(category)), list(judging.recusals(category))


def usable_sheets(settings, rows, finalist_ids):
    """Sheets that fit the rubric as it is now; returns (sheets, how many were left out).

    A sheet scores exactly the category's criteria, each within 0..max; one that does not
    (the rubric changed after it was submitted) is left out rather than guessed at.
    Sheets for nominations that are not finalists are not counted at all.
    """
    # Whole maxima as ints: comparing ints is much cheaper than comparing Fractions.
    maxima = {c.id: (int(c.max_score) if c.max_score.denominator == 1 else c.max_score) for c in settings.criteria}
    sheets, left_out = [], 0
    for judge_id, nomination_id, scores in rows:
        if nomination_id not in finalist_ids:
            continue
        if not maxima or set(scores) != set(maxima) or not all(0 <= scores[c] <= maxima[c] for c in maxima):
            left_out += 1
            continue
        sheets.append(scoring.Sheet(judge_id, nomination_id, dict(scores)))
    return sheets, left_out


def draft_count(category):
    return db.session.scalar(
        select(func.count()).select_from(ScoreSheet)
        .where(ScoreSheet.category_id == category.id, ScoreSheet.status == SheetStatus.DRAFT)
    )


def _ids(text):
    return [int(part) for part in (text or "").split(",") if part]


def tie_resolutions(category, finalist_ids):
    """The recorded tie decisions of the category; returns (resolutions, notes).

    A decision naming a nomination that is no longer a finalist cannot apply: it is reported
    with the scoring module's own warning code for an unused resolution.
    """
    resolutions, notes, seen = [], [], set()
    for decision in db.session.scalars(
        select(TieDecision).where(TieDecision.category_id == category.id).order_by(TieDecision.id)
    ):
        ids = frozenset(_ids(decision.finalists))
        if ids in seen:
            continue
        seen.add(ids)
        if not ids <= finalist_ids:
            notes.append({"code": scoring.TIE_RESOLUTION_UNUSED,
                          "data": {"finalists": sorted(ids), "method": decision.method.value}})
            continue
        order = tuple(_ids(decision.drawn_order)) if decision.drawn_order else None
        resolutions.append(scoring.TieResolution(ids, decision.method.value, decision.seed, order))
    return resolutions, notes


def category_results(category):
    """The live results of one category, from the tables (not for a frozen event)."""
    settings = settings_of(category)
    finalists = finalists_of(category)
    ids = set(finalists)
    channels, approvals_left_out = channel_votes(category, ids)
    sheet_rows, recusal_rows = _sheet_rows(category)
    sheets, sheets_left_out = usable_sheets(settings, sheet_rows, ids)
    resolutions, notes = tie_resolutions(category, ids)
    if sheets_left_out:
        notes.append({"code": SHEETS_LEFT_OUT, "data": {"count": sheets_left_out}})
    if approvals_left_out:
        notes.append({"code": APPROVALS_LEFT_OUT, "data": {"count": approvals_left_out}})
    return CategoryResults(
        id=category.id,
        name=category.name,
        kind=category.kind.value,
        max_approvals=category.max_approvals,
        settings=settings,
        criteria_names={c.id: c.name for c in category.criteria},
        finalists=finalists,
        channels=channels,
        votes=group_votes(channels),
        sheets=sheets,
        recusals=[(j, n) for j, n in recusal_rows if n in ids],
        resolutions=resolutions,
        notes=notes,
        drafts=draft_count(category),
    ).compute()


def inputs_for(category):
    """The keyword arguments of scoring.compute_standings for a category, from the database."""
    return category_results(category).scoring_inputs()


def standings(category):
    return scoring.compute_standings(**inputs_for(category))


# ---------------------------------------------------------------------------
# Ties


def _lock_event(event):
    """Serializes the result operations of an event (and, on SQLite, every write)."""
    begin_write(db.session)
    db.session.execute(select(Event.id).where(Event.id == event.id).with_for_update())
    db.session.refresh(event)


def describe_tie(results, tie):
    tiers = " / ".join(name or _("no award") for name in tie.tiers)
    return _("%(category)s: %(finalists)s (rank %(rank)d, %(tiers)s)",
             category=results.name, finalists=results.titles(tie.finalists), rank=tie.rank, tiers=tiers)


def decide_tie(category, finalist_ids, method, actor):
    """Settles a tie across an award boundary: a recorded draw or a joint award.

    A draw's seed comes from ``secrets``; the order is scoring.draw_order(ids, seed), so
    anyone holding the seed can replay it.  Only a tie that is unresolved now can be decided.
    """
    event = category.event
    ensure_unlocked(event)
    _lock_event(event)
    ensure_unlocked(event)
    if method not in scoring.RESOLUTION_METHODS:
        raise NotAllowed(_("Choose a draw or a joint award."))
    ids = frozenset(finalist_ids)
    results = category_results(category)
    if not any(frozenset(tie.finalists) == ids for tie in results.standings.unresolved_ties):
        raise NotAllowed(_("These finalists are not an unresolved tie across an award boundary; nothing was decided."))
    seed = order = None
    if method == "draw":
        seed = secrets.token_hex(8)
        order = scoring.draw_order(ids, seed)
    decision = TieDecision(
        category_id=category.id,
        finalists=",".join(str(i) for i in sorted(ids)),
        method=TieMethod(method),
        seed=seed,
        drawn_order=",".join(str(i) for i in order) if order else None,
        decided_by_id=actor.id,
        decided_at=utcnow(),
    )
    db.session.add(decision)
    db.session.flush()
    audit.record(
        "results.tie",
        actor=actor,
        event_id=event.id,
        details={"category_id": category.id, "finalists": sorted(ids), "method": method, "seed": seed,
                 "order": list(order) if order else None},
    )
    return decision


# ---------------------------------------------------------------------------
# Freezing and publishing


def snapshot_of(event):
    return db.session.scalar(select(ResultSnapshot).where(ResultSnapshot.event_id == event.id))


def snapshot_header(event_id):
    """(sha256, frozen_at, published_at) of an event's snapshot without loading its JSON, or None."""
    row = db.session.execute(
        select(ResultSnapshot.sha256, ResultSnapshot.frozen_at, ResultSnapshot.published_at)
        .where(ResultSnapshot.event_id == event_id)
    ).first()
    return None if row is None else tuple(row)


def live_results(event):
    return [category_results(category) for category in event.categories]


def voting_possible(event, now=None):
    """Whether a ballot could be cast now: the event is open and its voting window is, or
    on-site voting is open in one of its categories."""
    from voting.ballots.operations import open_sessions

    if event.state != EventState.OPEN:
        return False
    now = now or utcnow()
    return event.voting.is_open(now) or any(session is not None for session in open_sessions(event.categories, now).values())


def freeze_results(event, actor=None):
    """Freezes an event's results: refuses while a boundary tie is unresolved; otherwise stores
    the snapshot (inputs, settings and outputs as canonical JSON, and its SHA-256) and sets the
    event to FROZEN, after which nothing that feeds the results can change.

    Voting must be over: the event closed, or open with its voting window past and no
    on-site session open, so that no ballot can arrive while the snapshot is taken. (Judges'
    writes re-read the event's state under a lock, so they wait for the freeze or see it.)
    """
    from voting.results import bundle

    _lock_event(event)
    if event.is_locked:
        raise NotAllowed(_("The results of this event are already frozen."))
    if event.state == EventState.DRAFT:
        raise NotAllowed(_("A draft event has no results to freeze."))
    waiting = sealing.results_wait_reason(event)
    if waiting:
        raise NotAllowed(_("Results cannot be frozen yet. %(reason)s", reason=waiting))
    if voting_possible(event):
        raise NotAllowed(_("Voting is still open. Close the event (or wait until voting ends and close on-site voting) before freezing its results."))
    results = live_results(event)
    unresolved = [describe_tie(r, tie) for r in results for tie in r.standings.unresolved_ties]
    if unresolved:
        raise NotAllowed(_("Resolve these ties across an award boundary first: %(ties)s.", ties="; ".join(unresolved)))
    frozen_at = utcnow().replace(microsecond=0)
    document = bundle.snapshot_document(event, results, frozen_at)
    data = bundle.canonical_json(document)
    snapshot = ResultSnapshot(
        event_id=event.id,
        frozen_at=frozen_at,
        frozen_by_id=getattr(actor, "id", None),
        canonical_json=data.decode("utf-8"),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    db.session.add(snapshot)
    event.state = EventState.FROZEN
    db.session.flush()
    audit.record("results.freeze", actor=actor, event_id=event.id, details={"sha256": snapshot.sha256})
    return snapshot


def publish_results(event, actor=None):
    """Shows the frozen results to everyone: the public results page and the bundle."""
    _lock_event(event)
    if event.state == EventState.PUBLISHED:
        raise NotAllowed(_("The results of this event are already published."))
    snapshot = snapshot_of(event)
    if event.state != EventState.FROZEN or snapshot is None:
        raise NotAllowed(_("Freeze the results before publishing them."))
    snapshot.published_at = utcnow()
    event.state = EventState.PUBLISHED
    db.session.flush()
    audit.record("results.publish", actor=actor, event_id=event.id, details={"sha256": snapshot.sha256})
    return snapshot
