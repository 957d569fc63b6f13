"""Event, category and list operations. They flush but never commit."""
from flask_babel import gettext as _
from sqlalchemy import func, select

from voting.events.models import (
    LOCKED_STATES,
    AwardTier,
    Category,
    CategoryKind,
    Criterion,
    Department,
    Event,
    EventState,
    Field,
    JudgeAggregation,
    VoteNormalization,
)
from voting.audit import operations as audit
from voting.database import begin_write, utcnow
from voting.electors.models import EligibilityMode
from voting.extensions import db
from voting.i18n import from_seoul_naive

EVENT_WINDOW_FIELDS = (
    "nominate_opens_at",
    "nominate_closes_at",
    "vote_opens_at",
    "vote_closes_at",
    "judge_opens_at",
    "judge_closes_at",
)

# Organizers move an event by hand only between these; freezing and publishing
# are separate operations with their own checks.
MANUAL_TRANSITIONS = {
    EventState.DRAFT: {EventState.OPEN},
    EventState.OPEN: {EventState.DRAFT, EventState.CLOSED},
    EventState.CLOSED: {EventState.OPEN},
}


class EventLocked(Exception):
    """The event's results are frozen: nothing that feeds them may change."""


class NotAllowed(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def ensure_unlocked(event):
    if event.is_locked:
        raise EventLocked(event.id)


def hold_event_state(event_id):
    """Takes the write lock and reads the event's state afresh under it; returns the state.

    A freeze updates the event row: on PostgreSQL the shared row lock taken here makes it
    wait for this write (and this write for it); on SQLite the write lock already orders
    them. So a check made here cannot be overtaken by a freeze before the commit.
    """
    begin_write(db.session)
    state = db.session.scalar(select(Event.state).where(Event.id == event_id).with_for_update(read=True))
    if state in LOCKED_STATES:
        raise EventLocked(event_id)
    return state


def apply_event_form(event, form):
    event.name = form.name.data
    event.year = form.year.data
    event.description = form.description.data or ""
    event.retention_months = form.retention_months.data
    for name in EVENT_WINDOW_FIELDS:
        setattr(event, name, from_seoul_naive(getattr(form, name).data))


def eligibility_lock(event, now=None):
    """Why the event's eligibility mode can no longer change, or None while it still can.

    The mode says who the electors are, so it is fixed once voting has opened (the stored
    vote_opens_at has passed) or anyone has voted in the event by any channel.
    """
    from voting.ballots.models import Participation

    if event.id is None:
        return None
    if event.voting.has_started(now or utcnow()):
        return _("Voting has opened, so who may vote can no longer be changed.")
    voted = db.session.scalar(
        select(Participation.id).join(Category, Category.id == Participation.category_id)
        .where(Category.event_id == event.id).limit(1)
    )
    if voted is not None:
        return _("Someone has already voted in this event, so who may vote can no longer be changed.")
    return None


def _change_eligibility(event, mode):
    """Sets the mode, or raises NotAllowed when it is locked. The event row is locked first, so
    a ballot being cast either commits before the check (and is seen) or waits for the change."""
    begin_write(db.session)
    db.session.execute(select(Event.id).where(Event.id == event.id).with_for_update())
    db.session.refresh(event, ["vote_opens_at", "eligibility"])
    previous = EligibilityMode(event.eligibility)
    if mode == previous:
        return
    reason = eligibility_lock(event)
    if reason:
        raise NotAllowed(reason)
    event.eligibility = mode
    db.session.flush()
    audit.record("event.eligibility", event_id=event.id, details={"from": previous.value, "to": mode.value})


def create_event(form):
    event = Event(state=EventState.DRAFT, eligibility=EligibilityMode(form.eligibility.data))
    apply_event_form(event, form)
    db.session.add(event)
    db.session.flush()
    audit.record("event.create", event_id=event.id, details={
        "name": event.name, "eligibility": event.eligibility.value, "retention_months": event.retention_months})
    return event


def update_event(event, form):
    """Saves the form; returns why the eligibility mode was left as it was, or None.

    A refused mode change does not refuse the rest: the other fields are saved.
    """
    ensure_unlocked(event)
    refused = None
    mode = EligibilityMode(form.eligibility.data)
    if mode != event.eligibility:
        try:
            _change_eligibility(event, mode)
        except NotAllowed as exc:
            refused = exc.message
    apply_event_form(event, form)
    db.session.flush()
    audit.record("event.update", event_id=event.id,
                 details={"name": event.name, "retention_months": event.retention_months})
    return refused


def change_event_state(event, new_state):
    ensure_unlocked(event)
    if new_state == event.state:
        return event
    if new_state not in MANUAL_TRANSITIONS.get(event.state, set()):
        raise NotAllowed(_("An event cannot go from this state to that one."))
    previous = event.state
    event.state = new_state
    db.session.flush()
    audit.record("event.state", event_id=event.id, details={"from": previous.value, "to": new_state.value})
    return event


def _row_id(row):
    value = (row.id.data or "").strip() if isinstance(row.id.data, str) else row.id.data
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _sync_rows(existing, rows, make, update):
    """Updates rows in place so that their ids (used by later records) survive.

    A posted row carries the id of the stored row it shows; it updates that row.
    Rows without a known id are new; stored rows not posted back (cleared) are removed.
    When no posted row carries an id at all, rows are matched by position.
    """
    if not any(_row_id(row) for row in rows):
        for index, row in enumerate(rows):
            if index < len(existing):
                update(existing[index], row, index)
            else:
                existing.append(make(row, index))
        del existing[len(rows):]
        return
    by_id = {record.id: record for record in existing}
    kept = []
    for index, row in enumerate(rows):
        record = by_id.pop(_row_id(row), None)
        if record is None:
            record = make(row, index)
        else:
            update(record, row, index)
        kept.append(record)
    existing[:] = kept


def apply_category_form(category, form):
    category.name = form.name.data
    category.description = form.description.data or ""
    category.kind = CategoryKind(form.kind.data)
    category.max_approvals = form.max_approvals.data
    category.weight_resident = form.weight_resident.data
    category.weight_official = form.weight_official.data
    category.weight_judges = form.weight_judges.data
    category.vote_normalization = VoteNormalization(form.vote_normalization.data)
    category.judge_aggregation = JudgeAggregation(form.judge_aggregation.data)
    category.tie_break = ",".join(form.tie_break_chain())
    category.allow_self_approval = form.allow_self_approval.data

    def update_tier(tier, row, index):
        tier.name, tier.count, tier.position = row.name.data, row.count.data, index

    def update_criterion(criterion, row, index):
        criterion.name, criterion.weight = row.name.data, row.weight.data
        criterion.max_score, criterion.position = row.max_score.data, index

    _sync_rows(
        category.tiers,
        form.filled_rows(form.tiers),
        lambda row, i: AwardTier(name=row.name.data, count=row.count.data, position=i),
        update_tier,
    )
    _sync_rows(
        category.criteria,
        form.filled_rows(form.criteria),
        lambda row, i: Criterion(name=row.name.data, weight=row.weight.data, max_score=row.max_score.data, position=i),
        update_criterion,
    )


def category_name_taken(event, name, exclude_id=None):
    query = select(Category.id).where(Category.event_id == event.id, Category.name == name)
    if exclude_id:
        query = query.where(Category.id != exclude_id)
    return db.session.scalar(query) is not None


def save_category(event, form, category=None):
    ensure_unlocked(event)
    if category_name_taken(event, form.name.data, category.id if category else None):
        raise NotAllowed(_("This event already has a category with that name."))
    if category is None:
        position = db.session.scalar(select(func.count(Category.id)).where(Category.event_id == event.id))
        category = Category(event=event, position=position)
        db.session.add(category)
    apply_category_form(category, form)
    db.session.flush()
    audit.record("category.save", event_id=event.id, details=category_settings(category))
    return category


def delete_category(category):
    from voting.nominations.models import Nomination

    ensure_unlocked(category.event)
    if db.session.scalar(select(func.count(Nomination.id)).where(Nomination.category_id == category.id)):
        raise NotAllowed(_("This category has nominations and cannot be deleted."))
    audit.record("category.delete", event_id=category.event_id, details={"category_id": category.id, "name": category.name})
    db.session.delete(category)
    db.session.flush()


def add_field(event, name):
    ensure_unlocked(event)
    if db.session.scalar(select(Field.id).where(Field.event_id == event.id, Field.name == name)):
        raise NotAllowed(_("This field is already in the list."))
    field = Field(event=event, name=name, position=len(event.fields))
    db.session.add(field)
    db.session.flush()
    audit.record("field.add", event_id=event.id, details={"field_id": field.id, "name": name})
    return field


def delete_field(field):
    from voting.nominations.models import Nomination

    ensure_unlocked(field.event)
    if db.session.scalar(select(func.count(Nomination.id)).where(Nomination.field_id == field.id)):
        raise NotAllowed(_("Nominations use this field; it cannot be deleted."))
    audit.record("field.delete", event_id=field.event_id, details={"field_id": field.id, "name": field.name})
    db.session.delete(field)
    db.session.flush()


def add_department(name):
    if db.session.scalar(select(Department.id).where(Department.name == name)):
        raise NotAllowed(_("This department is already in the list."))
    department = Department(name=name)
    db.session.add(department)
    db.session.flush()
    audit.record("department.add", details={"department_id": department.id, "name": name})
    return department


def delete_department(department):
    from voting.nominations.models import Nomination

    if db.session.scalar(select(func.count(Nomination.id)).where(Nomination.department_id == department.id)):
        raise NotAllowed(_("Nominations use this department; it cannot be deleted."))
    audit.record("department.delete", details={"department_id": department.id, "name": department.name})
    db.session.delete(department)
    db.session.flush()


def category_settings(category):
    """Every setting that shapes a category's results, as plain data."""
    return {
        "category_id": category.id,
        "name": category.name,
        "kind": category.kind.value,
        "max_approvals": category.max_approvals,
        "weights": [category.weight_resident, category.weight_official, category.weight_judges],
        "vote_normalization": category.vote_normalization.value,
        "judge_aggregation": category.judge_aggregation.value,
        "tie_break": category.tie_break_chain,
        "allow_self_approval": category.allow_self_approval,
        "tiers": [[t.name, t.count] for t in category.tiers],
        "criteria": [[c.name, c.weight, c.max_score] for c in category.criteria],
    }
