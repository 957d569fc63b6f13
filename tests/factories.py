"""Builders of test records; call them inside an app context."""
import itertools
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import inspect

from voting.accounts.models import Role, User
from voting.electors.models import EligibilityMode
from voting.database import utcnow
from voting.events.models import AwardTier, Category, CategoryKind, Criterion, Department, Event, EventState, Field
from voting.extensions import db
from voting.nominations.models import CONSENT_VERSION, Nomination, NominationState

PASSWORD = "correct-horse-battery"
_sequence = itertools.count(1)

# (nominate, vote, judge) windows in days from now
PHASES = {
    "nominating": ((-1, 7), (10, 20), (10, 24)),
    "voting": ((-20, -10), (-1, 7), (-1, 9)),
    "judging": ((-30, -20), (-10, -2), (-1, 5)),
    "before": ((2, 9), (10, 20), (10, 24)),
    "after": ((-40, -30), (-20, -10), (-20, -5)),
}


class Snapshot(SimpleNamespace):
    """The column values of a record, usable after its session is gone."""

    @classmethod
    def of(cls, record):
        values = {attr.key: getattr(record, attr.key) for attr in inspect(record).mapper.column_attrs}
        if isinstance(record, Event):
            values["categories"] = [cls.of(c) for c in record.categories]
            values["fields"] = [cls.of(f) for f in record.fields]
        return cls(**values)


def user(role="resident", *, email=None, name=None, password=PASSWORD, verified=True, department=None, enabled=True):
    number = next(_sequence)
    record = User(
        email=email or f"{role}{number}@test.example",
        name=name or f"{role} {number}",
        role=Role(role),
        department=department,
        email_verified_at=utcnow() if verified else None,
        is_enabled=enabled,
    )
    if password is not None:
        record.set_password(password)
    db.session.add(record)
    db.session.flush()
    return record


def set_phase(event, phase):
    now = utcnow()
    (n0, n1), (v0, v1), (j0, j1) = PHASES[phase]
    event.nominate_opens_at, event.nominate_closes_at = now + timedelta(days=n0), now + timedelta(days=n1)
    event.vote_opens_at, event.vote_closes_at = now + timedelta(days=v0), now + timedelta(days=v1)
    event.judge_opens_at, event.judge_closes_at = now + timedelta(days=j0), now + timedelta(days=j1)


def event(*, name=None, state="open", phase="nominating", departments=("협치지원팀", "환경과"), eligibility="open",
          sealed=False):
    """An event with two categories. Unsealed unless asked: tests of the sealed box use
    tests.sealing_helpers, which also holds its key ceremony."""
    record = Event(name=name or f"2019 협치 성과 공유 파티 {next(_sequence)}", year=2019, state=EventState(state),
                   eligibility=EligibilityMode(eligibility), sealed=sealed)
    set_phase(record, phase)
    record.fields = [Field(name=n, position=i) for i, n in enumerate(["경제산업", "교육문화", "기후환경"])]
    record.categories = [
        Category(
            name="협치 우수사례", kind=CategoryKind.PRACTICE, position=0, max_approvals=2,
            tiers=[AwardTier(name="대상", count=1, position=0), AwardTier(name="우수상", count=2, position=1)],
            criteria=[Criterion(name="협치성", weight=3, max_score=10, position=0),
                      Criterion(name="성과", weight=2, max_score=10, position=1)],
        ),
        Category(
            name="협치 인물", kind=CategoryKind.PERSON, position=1, max_approvals=1,
            tiers=[AwardTier(name="협치인물상", count=1, position=0)],
            criteria=[Criterion(name="협치성", weight=1, max_score=10, position=0)],
        ),
    ]
    for department in departments:
        if not db.session.query(Department.id).filter_by(name=department).first():
            db.session.add(Department(name=department))
    db.session.add(record)
    db.session.flush()
    return record


def nomination(event_id, *, nominator_id, category_index=0, state="submitted", title=None, field_index=0):
    record_event = db.session.get(Event, event_id)
    category = record_event.categories[category_index]
    record = Nomination(
        event=record_event,
        category=category,
        nominator_id=nominator_id,
        state=NominationState(state),
        title=title or f"후보 {next(_sequence)}",
        summary="요약",
        description="설명",
        field=record_event.fields[field_index],
    )
    if category.is_person:
        record.nominee_name, record.nominee_affiliation = "홍길동", "주민위원"
        record.consent_given_at, record.consent_version = utcnow(), CONSENT_VERSION
    db.session.add(record)
    db.session.flush()
    return record
