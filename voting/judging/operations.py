"""Judge assignments, score sheets, recusals and judging progress. Operations flush, never commit.

Who judges what: a category without assignment rows is judged by every enabled judge
account (every user with the role judge), for every finalist. Once an organizer saves a
grid for a category, its rows say exactly which judge scores which finalist.

A sheet is a draft until the judge submits it; submitting locks it. A recusal is a
locked sheet with a reason and no scores. Only an organizer reopens a locked sheet.
Judges see their own sheets only, never another judge's scores.
"""
from collections import Counter
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from voting.accounts.models import Role, User
from voting.audit import operations as audit
from voting.database import savepoint, utcnow
from voting.events.models import Category, Event, EventState
from voting.events.operations import NotAllowed, ensure_unlocked, hold_event_state
from voting.extensions import db
from voting.judging.models import JudgeAssignment, ScoreSheet, SheetScore, SheetStatus
from voting.nominations.models import Nomination, NominationState

MAX_COMMENT = 2000
MAX_REASON = 500

# What a judge × finalist cell of the progress grid can show.
SUBMITTED, DRAFT, RECUSED, MISSING, UNASSIGNED = "submitted", "draft", "recused", "missing", "unassigned"
PROGRESS_STATES = (SUBMITTED, DRAFT, RECUSED, MISSING)


class SheetLocked(NotAllowed):
    """The sheet is submitted or recused: only an organizer can reopen it."""


# ---------------------------------------------------------------------------
# Who judges what


def judges():
    """Every enabled judge account: by default, the judges of every event."""
    return db.session.scalars(
        select(User).where(User.role == Role.JUDGE, User.is_enabled.is_(True)).order_by(User.name, User.id)
    ).all()


def category_finalists(category):
    return db.session.scalars(
        select(Nomination)
        .where(Nomination.category_id == category.id, Nomination.state == NominationState.FINALIST)
        .order_by(Nomination.title, Nomination.id)
    ).all()


def has_custom_assignments(category):
    return db.session.scalar(select(JudgeAssignment.id).where(JudgeAssignment.category_id == category.id).limit(1)) is not None


def _assignment_rows(category):
    return {
        (judge_id, nomination_id)
        for judge_id, nomination_id in db.session.execute(
            select(JudgeAssignment.judge_id, JudgeAssignment.nomination_id).where(JudgeAssignment.category_id == category.id)
        )
    }


def assignment_pairs(category, finalists=None, judge_ids=None):
    """(judge id, finalist id) pairs that should be scored in the category."""
    finalist_ids = {n.id for n in (finalists if finalists is not None else category_finalists(category))}
    rows = _assignment_rows(category)
    if rows:
        return {(j, n) for j, n in rows if n in finalist_ids}
    if judge_ids is None:
        judge_ids = [judge.id for judge in judges()]
    return {(j, n) for j in judge_ids for n in finalist_ids}


def is_assigned(judge, nomination):
    """Whether the judge is to score this finalist."""
    if judge.role != Role.JUDGE or not judge.is_enabled or nomination.state != NominationState.FINALIST:
        return False
    rows = select(JudgeAssignment.judge_id).where(JudgeAssignment.category_id == nomination.category_id)
    if db.session.scalar(rows.limit(1)) is None:
        return True
    return db.session.scalar(rows.where(
        JudgeAssignment.judge_id == judge.id, JudgeAssignment.nomination_id == nomination.id
    )) is not None


def _pair_label(judge_id, nomination_id):
    judge = db.session.get(User, judge_id)
    nomination = db.session.get(Nomination, nomination_id)
    return judge.name if judge else str(judge_id), nomination.title if nomination else str(nomination_id)


def assign_judges(category, pairs):
    """Replaces the category's assignments with exactly these (judge id, finalist id) pairs.

    A pair with a submitted sheet or a recusal cannot be removed: reopen the sheet first.
    Drafts of removed pairs are kept (and not counted); they come back if the pair does.
    """
    ensure_unlocked(category.event)
    pairs = {(int(j), int(n)) for j, n in pairs}
    if not pairs:
        raise NotAllowed(_("Tick at least one box, or let every judge judge every finalist."))
    finalist_ids = {n.id for n in category_finalists(category)}
    judge_ids = set(db.session.scalars(select(User.id).where(User.role == Role.JUDGE)))
    if any(n not in finalist_ids for _j, n in pairs):
        raise NotAllowed(_("An assignment is for a nomination that is not a finalist of this category."))
    if any(j not in judge_ids for j, _n in pairs):
        raise NotAllowed(_("An assignment is for an account that is not a judge."))
    _lock_for_write(category.event, category, exclusive=True)
    before = assignment_pairs(category)
    for judge_id, nomination_id, status in db.session.execute(
        select(ScoreSheet.judge_id, ScoreSheet.nomination_id, ScoreSheet.status).where(
            ScoreSheet.category_id == category.id, ScoreSheet.status != SheetStatus.DRAFT
        )
    ):
        if (judge_id, nomination_id) in before and (judge_id, nomination_id) not in pairs:
            judge, title = _pair_label(judge_id, nomination_id)
            raise NotAllowed(
                _("%(judge)s has already submitted or recused for %(title)s; reopen that sheet before removing it.",
                  judge=judge, title=title)
            )
    db.session.execute(delete(JudgeAssignment).where(JudgeAssignment.category_id == category.id))
    db.session.add_all(
        JudgeAssignment(category_id=category.id, judge_id=j, nomination_id=n) for j, n in sorted(pairs)
    )
    db.session.flush()
    audit.record(
        "judging.assign",
        event_id=category.event_id,
        details={"category_id": category.id, "pairs": [list(p) for p in sorted(pairs)],
                 "added": len(pairs - before), "removed": len(before - pairs)},
    )


def assign_everyone(category):
    """Back to the default: every judge judges every finalist. Returns whether anything changed."""
    ensure_unlocked(category.event)
    _lock_for_write(category.event, category, exclusive=True)
    removed = db.session.scalar(
        select(func.count(JudgeAssignment.id)).where(JudgeAssignment.category_id == category.id)
    )
    if not removed:
        return False
    db.session.execute(delete(JudgeAssignment).where(JudgeAssignment.category_id == category.id))
    db.session.flush()
    audit.record("judging.assign_everyone", event_id=category.event_id,
                 details={"category_id": category.id, "removed_rows": removed})
    return True


# ---------------------------------------------------------------------------
# Sheets


def judging_open(event, now=None):
    return event.state == EventState.OPEN and event.judging.is_open(now or utcnow())


def find_sheet(judge, nomination):
    return db.session.scalar(
        select(ScoreSheet).where(ScoreSheet.judge_id == judge.id, ScoreSheet.nomination_id == nomination.id)
    )


def ensure_may_judge(judge, nomination, now=None):
    """Raises EventLocked or NotAllowed, saying why this judge cannot write this sheet now."""
    event = nomination.event
    ensure_unlocked(event)
    if not is_assigned(judge, nomination):
        raise NotAllowed(_("You are not assigned to judge this finalist."))
    if not judging_open(event, now):
        raise NotAllowed(_("Judging for %(event)s is not open now.", event=event.name))


def _lock_for_write(event, category=None, *, exclusive=False):
    """Takes the write lock and reads the event's state afresh; holds the rows read until commit.

    On SQLite begin_write serializes every writer. On PostgreSQL the event row is held
    shared (a freeze, which updates it, waits for this write), and the category row shared
    by sheet writes and exclusively by assignment changes, so that a sheet cannot be
    written for a pair while that pair is being removed.
    """
    hold_event_state(event.id)
    if category is not None:
        db.session.scalar(select(Category.id).where(Category.id == category.id).with_for_update(read=not exclusive))


def _locked_sheet(judge, nomination):
    """The judge's sheet for the finalist, made if missing, locked until commit and read afresh.

    The assignment is checked again under the lock. Two requests for the same sheet run one
    after the other: SQLite's write lock (begin_write), PostgreSQL's row lock; a second
    insert of the same sheet fails on the unique (judge, nomination) constraint and then
    waits on the row the first one made.
    """
    _lock_for_write(nomination.event, nomination.category)
    if not is_assigned(judge, nomination):
        raise NotAllowed(_("You are not assigned to judge this finalist."))
    query = (
        select(ScoreSheet)
        .where(ScoreSheet.judge_id == judge.id, ScoreSheet.nomination_id == nomination.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    sheet = db.session.scalar(query)
    if sheet is not None:
        return sheet
    sheet = ScoreSheet(
        category_id=nomination.category_id, nomination_id=nomination.id, judge_id=judge.id,
        status=SheetStatus.DRAFT, comment="",
    )
    try:
        with savepoint(db.session):
            db.session.add(sheet)
    except IntegrityError:
        sheet = db.session.scalar(query)
        if sheet is None:
            raise
    return sheet


def check_scores(category, scores, *, complete):
    """Returns {criterion id: int}; raises NotAllowed for an unknown criterion or a value out of range."""
    criteria = {c.id: c for c in category.criteria}
    checked = {}
    for key, value in scores.items():
        criterion = criteria.get(int(key)) if str(key).lstrip("-").isdigit() else None
        if criterion is None:
            raise NotAllowed(_("A score is for a criterion that is not in this category's rubric."))
        if isinstance(value, bool) or not isinstance(value, int):
            raise NotAllowed(_("Enter a whole number."))
        if not 0 <= value <= criterion.max_score:
            raise NotAllowed(
                _("The score for %(criterion)s must be from 0 to %(max)d.", criterion=criterion.name, max=criterion.max_score)
            )
        checked[criterion.id] = value
    if complete:
        if not criteria:
            raise NotAllowed(_("This category has no rubric yet; ask an organizer to add its criteria."))
        if set(checked) != set(criteria):
            raise NotAllowed(_("Enter a score for every criterion before submitting."))
    return checked


def save_sheet(judge, nomination, scores, comment="", *, submit=False):
    """Saves the judge's draft for the finalist, or submits it (which locks it). Returns the sheet."""
    ensure_may_judge(judge, nomination)
    checked = check_scores(nomination.category, scores, complete=submit)
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise NotAllowed(_("Use at most %(max)d characters.", max=MAX_COMMENT))
    sheet = _locked_sheet(judge, nomination)
    if sheet.is_locked:
        raise SheetLocked(_("This sheet is already submitted or recused; an organizer can reopen it."))
    existing = {score.criterion_id: score for score in sheet.scores}
    for criterion_id, score in existing.items():
        if criterion_id not in checked:
            sheet.scores.remove(score)
    for criterion_id, value in checked.items():
        if criterion_id in existing:
            existing[criterion_id].value = value
        else:
            sheet.scores.append(SheetScore(criterion_id=criterion_id, value=value))
    sheet.comment = comment
    if submit:
        sheet.status = SheetStatus.SUBMITTED
        sheet.submitted_at = utcnow()
    db.session.flush()
    if submit:
        audit.record(
            "judging.submit", actor=judge, event_id=nomination.event_id,
            details={"sheet_id": sheet.id, "category_id": nomination.category_id, "nomination_id": nomination.id},
        )
    return sheet


def recuse_from_finalist(judge, nomination, reason):
    """Records the judge's conflict of interest: a locked sheet with the reason and no scores."""
    ensure_may_judge(judge, nomination)
    reason = (reason or "").strip()
    if not reason:
        raise NotAllowed(_("Give the reason for the recusal."))
    if len(reason) > MAX_REASON:
        raise NotAllowed(_("Use at most %(max)d characters.", max=MAX_REASON))
    sheet = _locked_sheet(judge, nomination)
    if sheet.is_locked:
        raise SheetLocked(_("This sheet is already submitted or recused; an organizer can reopen it."))
    sheet.scores.clear()
    sheet.comment = ""
    sheet.status = SheetStatus.RECUSED
    sheet.recusal_reason = reason
    sheet.submitted_at = None
    db.session.flush()
    audit.record(
        "judging.recuse", actor=judge, event_id=nomination.event_id,
        details={"sheet_id": sheet.id, "category_id": nomination.category_id, "nomination_id": nomination.id,
                 "reason": reason},
    )
    return sheet


def reopen_sheet(sheet, reason):
    """An organizer puts a submitted or recused sheet back to draft; a submitted sheet keeps its scores."""
    nomination = db.session.get(Nomination, sheet.nomination_id)
    ensure_unlocked(nomination.event)
    reason = (reason or "").strip()
    if not reason:
        raise NotAllowed(_("Give the reason for reopening the sheet."))
    if len(reason) > MAX_REASON:
        raise NotAllowed(_("Use at most %(max)d characters.", max=MAX_REASON))
    _lock_for_write(nomination.event)
    sheet = db.session.scalar(
        select(ScoreSheet).where(ScoreSheet.id == sheet.id).with_for_update().execution_options(populate_existing=True)
    )
    if not sheet.is_locked:
        raise NotAllowed(_("This sheet is a draft already."))
    previous = sheet.status
    sheet.status = SheetStatus.DRAFT
    sheet.recusal_reason = None
    sheet.submitted_at = None
    db.session.flush()
    audit.record(
        "judging.reopen", event_id=nomination.event_id,
        details={"sheet_id": sheet.id, "judge_id": sheet.judge_id, "nomination_id": sheet.nomination_id,
                 "category_id": sheet.category_id, "from": previous.value, "reason": reason},
    )
    return sheet


# ---------------------------------------------------------------------------
# What the results side reads


def _finalist_sheets(category, status):
    return (
        select(ScoreSheet)
        .join(Nomination, Nomination.id == ScoreSheet.nomination_id)
        .where(
            ScoreSheet.category_id == category.id,
            ScoreSheet.status == status,
            Nomination.category_id == category.id,
            Nomination.state == NominationState.FINALIST,
        )
        .order_by(ScoreSheet.judge_id, ScoreSheet.nomination_id)
    )


def submitted_sheets(category):
    """[(judge id, finalist id, {criterion id: value})] for the submitted sheets of the category's finalists.

    Drafts and recusals are left out. Every submitted sheet counts, whether or not its
    judge is still assigned (a pair with a submitted sheet cannot be unassigned).
    """
    # Plain rows, not ORM objects: results read every sheet of an event at once.
    rows = db.session.execute(
        select(ScoreSheet.judge_id, ScoreSheet.nomination_id, SheetScore.criterion_id, SheetScore.value)
        .join(SheetScore, SheetScore.sheet_id == ScoreSheet.id)
        .join(Nomination, Nomination.id == ScoreSheet.nomination_id)
        .where(
            ScoreSheet.category_id == category.id,
            ScoreSheet.status == SheetStatus.SUBMITTED,
            Nomination.category_id == category.id,
            Nomination.state == NominationState.FINALIST,
        )
        .order_by(ScoreSheet.judge_id, ScoreSheet.nomination_id)
    )
    sheets = {}
    for judge_id, nomination_id, criterion_id, value in rows:
        sheets.setdefault((judge_id, nomination_id), {})[criterion_id] = value
    return [(judge, finalist, scores) for (judge, finalist), scores in sheets.items()]


def recusals(category):
    """[(judge id, finalist id)] for the recusals from the category's finalists."""
    return [(s.judge_id, s.nomination_id) for s in db.session.scalars(_finalist_sheets(category, SheetStatus.RECUSED))]


# ---------------------------------------------------------------------------
# Progress


def _sheet_statuses(category_ids, judge_id=None):
    query = select(ScoreSheet.id, ScoreSheet.judge_id, ScoreSheet.nomination_id, ScoreSheet.status).where(
        ScoreSheet.category_id.in_(category_ids)
    )
    if judge_id is not None:
        query = query.where(ScoreSheet.judge_id == judge_id)
    return {(j, n): (sheet_id, status.value) for sheet_id, j, n, status in db.session.execute(query)}


@dataclass
class CategoryProgress:
    """The judge × finalist grid of one category, for organizers. No scores, only states."""

    category: Category
    custom: bool
    judges: list
    finalists: list
    cells: dict = field(default_factory=dict)  # (judge id, finalist id) -> state
    sheet_ids: dict = field(default_factory=dict)  # (judge id, finalist id) -> sheet id
    by_judge: dict = field(default_factory=dict)  # judge id -> Counter of states
    by_finalist: dict = field(default_factory=dict)  # finalist id -> Counter of states
    totals: Counter = field(default_factory=Counter)

    @property
    def unjudged(self):
        """Finalists that no judge is to score."""
        return [n for n in self.finalists if not any(self.cells.get((j.id, n.id), UNASSIGNED) != UNASSIGNED for j in self.judges)]


def category_progress(category, all_judges=None):
    finalists = category_finalists(category)
    all_judges = judges() if all_judges is None else all_judges
    custom = has_custom_assignments(category)
    pairs = assignment_pairs(category, finalists, [j.id for j in all_judges])
    sheets = _sheet_statuses([category.id])
    finalist_ids = {n.id for n in finalists}
    # Every enabled judge, and whoever else is assigned or has a sheet here (e.g. a judge disabled since).
    shown = {j.id for j in all_judges} | {j for j, _n in pairs} | {j for j, n in sheets if n in finalist_ids}
    people = {j.id: j for j in all_judges}
    missing = shown - set(people)
    if missing:
        people.update({u.id: u for u in db.session.scalars(select(User).where(User.id.in_(missing)))})
    progress = CategoryProgress(
        category=category, custom=custom, finalists=finalists,
        judges=sorted((people[j] for j in shown), key=lambda u: (u.name, u.id)),
    )
    for judge in progress.judges:
        progress.by_judge[judge.id] = Counter()
    for nomination in finalists:
        progress.by_finalist[nomination.id] = Counter()
    for judge in progress.judges:
        for nomination in finalists:
            key = (judge.id, nomination.id)
            sheet = sheets.get(key)
            if sheet is not None:
                state = sheet[1]
                progress.sheet_ids[key] = sheet[0]
            elif key in pairs:
                state = MISSING
            else:
                state = UNASSIGNED
            progress.cells[key] = state
            if state != UNASSIGNED and (key in pairs or state != DRAFT):
                progress.by_judge[judge.id][state] += 1
                progress.by_finalist[nomination.id][state] += 1
                progress.totals[state] += 1
    return progress


def event_progress(event):
    all_judges = judges()
    return [category_progress(category, all_judges) for category in event.categories]


@dataclass
class JudgeItem:
    nomination: Nomination
    state: str


@dataclass
class JudgeCategory:
    category: Category
    items: list
    counts: Counter


@dataclass
class JudgeEvent:
    event: Event
    open: bool
    categories: list

    @property
    def counts(self):
        total = Counter()
        for category in self.categories:
            total.update(category.counts)
        return total

    @property
    def size(self):
        return sum(len(c.items) for c in self.categories)


def judge_overview(judge, now=None):
    """The finalists each public event gives this judge to score, by category, with the judge's own states."""
    now = now or utcnow()
    events = db.session.scalars(
        select(Event)
        .where(Event.state != EventState.DRAFT)
        .order_by(Event.judge_opens_at.desc(), Event.id.desc())
    ).all()
    overview = []
    for event in events:
        sheets = _sheet_statuses([c.id for c in event.categories], judge.id)
        categories = []
        for category in event.categories:
            finalists = category_finalists(category)
            pairs = assignment_pairs(category, finalists, [judge.id] if judge.is_enabled else [])
            items = []
            for nomination in finalists:
                sheet = sheets.get((judge.id, nomination.id))
                if (judge.id, nomination.id) in pairs:
                    items.append(JudgeItem(nomination, sheet[1] if sheet else MISSING))
                elif sheet is not None and sheet[1] != DRAFT:
                    items.append(JudgeItem(nomination, sheet[1]))  # unassigned since: shown, not editable
            if items:
                categories.append(JudgeCategory(category, items, Counter(item.state for item in items)))
        if categories:
            overview.append(JudgeEvent(event, judging_open(event, now), categories))
    overview.sort(key=lambda e: not e.open)  # open windows first, otherwise newest first
    return overview

