"""Judges' score sheets, recusals and which finalists each judge scores."""
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voting.accounts.models import Role, User, enum_column
from voting.database import UTCDateTime, utcnow
from voting.extensions import db


class SheetStatus(str, enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RECUSED = "recused"


class JudgeAssignment(db.Model):
    """A judge assigned to a finalist. A category without any assignment is judged by every judge."""

    __tablename__ = "judge_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    nomination_id: Mapped[int] = mapped_column(ForeignKey("nominations.id", ondelete="CASCADE"))

    __table_args__ = (UniqueConstraint("judge_id", "nomination_id", name="uq_judge_assignments_judge_nomination"),)


class ScoreSheet(db.Model):
    """One judge's sheet for one finalist: a draft, a submitted sheet, or a recusal."""

    __tablename__ = "score_sheets"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), index=True)
    nomination_id: Mapped[int] = mapped_column(ForeignKey("nominations.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[SheetStatus] = mapped_column(enum_column(SheetStatus, "sheet_status"), default=SheetStatus.DRAFT)
    comment: Mapped[str] = mapped_column(Text, default="")
    recusal_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[object | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    judge: Mapped[User] = relationship()
    scores: Mapped[list["SheetScore"]] = relationship(back_populates="sheet", cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("judge_id", "nomination_id", name="uq_score_sheets_judge_nomination"),
        CheckConstraint("status <> 'recused' OR recusal_reason IS NOT NULL", name="recusal_has_reason"),
    )

    @property
    def is_locked(self):
        return self.status in (SheetStatus.SUBMITTED, SheetStatus.RECUSED)

    def can_edit(self, user):
        return user.is_authenticated and user.role == Role.JUDGE and user.id == self.judge_id and not self.is_locked


class SheetScore(db.Model):
    __tablename__ = "sheet_scores"

    sheet_id: Mapped[int] = mapped_column(ForeignKey("score_sheets.id", ondelete="CASCADE"), primary_key=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[int]

    sheet: Mapped[ScoreSheet] = relationship(back_populates="scores")

    __table_args__ = (CheckConstraint("value >= 0", name="value_not_negative"),)
