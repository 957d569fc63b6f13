import enum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voting.accounts.models import Role, enum_column
from voting.database import UTCDateTime, utcnow
from voting.electors.models import EligibilityMode
from voting.extensions import db


class EventState(str, enum.Enum):
    DRAFT = "draft"          # only organizers see it
    OPEN = "open"            # public; the windows say what can be done when
    CLOSED = "closed"        # public; nothing can be submitted any more
    FROZEN = "frozen"        # results snapshot taken; nothing that feeds it changes
    PUBLISHED = "published"  # frozen results shown to everyone


# Frozen or published: nothing that feeds the results may change any more.
LOCKED_STATES = frozenset({EventState.FROZEN, EventState.PUBLISHED})


class CategoryKind(str, enum.Enum):
    PRACTICE = "practice"
    PERSON = "person"


class VoteNormalization(str, enum.Enum):
    TOP = "top"
    SHARE = "share"
    MINMAX = "minmax"


class JudgeAggregation(str, enum.Enum):
    MEAN = "mean"
    TRIMMED = "trimmed"
    ZSCORE = "zscore"


TIE_BREAK_KEYS = ("judges", "resident", "official")
DEFAULT_TIE_BREAK = "judges,resident,official"


class Window:
    """A half-open time span [opens_at, closes_at) in UTC."""

    def __init__(self, opens_at, closes_at):
        self.opens_at = opens_at
        self.closes_at = closes_at

    def is_open(self, now):
        return self.opens_at is not None and self.closes_at is not None and self.opens_at <= now < self.closes_at

    def has_started(self, now):
        return self.opens_at is not None and now >= self.opens_at


class Event(db.Model):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    year: Mapped[int]
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[EventState] = mapped_column(enum_column(EventState, "event_state"), default=EventState.DRAFT)
    nominate_opens_at: Mapped[object] = mapped_column(UTCDateTime())
    nominate_closes_at: Mapped[object] = mapped_column(UTCDateTime())
    vote_opens_at: Mapped[object] = mapped_column(UTCDateTime())
    vote_closes_at: Mapped[object] = mapped_column(UTCDateTime())
    judge_opens_at: Mapped[object] = mapped_column(UTCDateTime())
    judge_closes_at: Mapped[object] = mapped_column(UTCDateTime())
    # Who may vote and who "one person" is (voting.electors.models).
    eligibility: Mapped[EligibilityMode] = mapped_column(
        enum_column(EligibilityMode, "eligibility_mode"), default=EligibilityMode.OPEN
    )
    # Personal data of the event is destroyed this many months after publication.
    retention_months: Mapped[int] = mapped_column(default=6)
    # Ballots go into a sealed box (voting.sealing) unless organizers turned it off before voting.
    sealed: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)

    categories: Mapped[list["Category"]] = relationship(
        back_populates="event", order_by="Category.position, Category.id", cascade="all, delete-orphan"
    )
    fields: Mapped[list["Field"]] = relationship(
        back_populates="event", order_by="Field.position, Field.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
        CheckConstraint("nominate_opens_at < nominate_closes_at", name="nominate_window"),
        CheckConstraint("vote_opens_at < vote_closes_at", name="vote_window"),
        CheckConstraint("judge_opens_at < judge_closes_at", name="judge_window"),
        CheckConstraint("retention_months BETWEEN 1 AND 60", name="retention_range"),
    )

    @property
    def nominating(self):
        return Window(self.nominate_opens_at, self.nominate_closes_at)

    @property
    def voting(self):
        return Window(self.vote_opens_at, self.vote_closes_at)

    @property
    def judging(self):
        return Window(self.judge_opens_at, self.judge_closes_at)

    @property
    def is_public(self):
        return self.state != EventState.DRAFT

    @property
    def is_locked(self):
        """Frozen or published: results inputs can no longer change."""
        return self.state in LOCKED_STATES

    def accepts_nominations(self, now=None):
        return self.state == EventState.OPEN and self.nominating.is_open(now or utcnow())

    def can_view(self, user):
        return self.is_public or (user.is_authenticated and user.role == Role.ORGANIZER)

    @staticmethod
    def can_manage(user):
        return user.is_authenticated and user.role == Role.ORGANIZER


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[CategoryKind] = mapped_column(enum_column(CategoryKind, "category_kind"))
    position: Mapped[int] = mapped_column(default=0)
    max_approvals: Mapped[int] = mapped_column(default=1)
    weight_resident: Mapped[int] = mapped_column(default=40)
    weight_official: Mapped[int] = mapped_column(default=20)
    weight_judges: Mapped[int] = mapped_column(default=40)
    vote_normalization: Mapped[VoteNormalization] = mapped_column(
        enum_column(VoteNormalization, "vote_normalization"), default=VoteNormalization.TOP
    )
    judge_aggregation: Mapped[JudgeAggregation] = mapped_column(
        enum_column(JudgeAggregation, "judge_aggregation"), default=JudgeAggregation.MEAN
    )
    # Comma-separated keys from TIE_BREAK_KEYS, most decisive first.
    tie_break: Mapped[str] = mapped_column(String(50), default=DEFAULT_TIE_BREAK)
    # Whether a voter may approve a nomination they submitted themselves.
    allow_self_approval: Mapped[bool] = mapped_column(default=False)

    event: Mapped[Event] = relationship(back_populates="categories")
    tiers: Mapped[list["AwardTier"]] = relationship(
        back_populates="category", order_by="AwardTier.position", cascade="all, delete-orphan"
    )
    criteria: Mapped[list["Criterion"]] = relationship(
        back_populates="category", order_by="Criterion.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        UniqueConstraint("event_id", "name"),
        CheckConstraint("max_approvals >= 1", name="max_approvals_positive"),
        CheckConstraint(
            "weight_resident >= 0 AND weight_official >= 0 AND weight_judges >= 0"
            " AND weight_resident + weight_official + weight_judges = 100",
            name="weights_sum_100",
        ),
    )

    @property
    def tie_break_chain(self):
        return [key for key in self.tie_break.split(",") if key]

    @property
    def is_person(self):
        return self.kind == CategoryKind.PERSON


class AwardTier(db.Model):
    __tablename__ = "award_tiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(50))
    count: Mapped[int]

    category: Mapped[Category] = relationship(back_populates="tiers")

    __table_args__ = (CheckConstraint("count >= 1", name="count_positive"),)


class Criterion(db.Model):
    __tablename__ = "criteria"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(50))
    weight: Mapped[int]
    max_score: Mapped[int]

    category: Mapped[Category] = relationship(back_populates="criteria")

    __table_args__ = (
        CheckConstraint("weight >= 1", name="weight_positive"),
        CheckConstraint("max_score >= 1", name="max_positive"),
    )


class Field(db.Model):
    """A 분과 (field) of an event, such as 경제산업 or 기후환경."""

    __tablename__ = "fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(default=0)

    event: Mapped[Event] = relationship(back_populates="fields")

    __table_args__ = (UniqueConstraint("event_id", "name"),)


class Department(db.Model):
    """A department of the district office; one list for all events."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
