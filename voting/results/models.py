"""What the organizers decided about results: tie resolutions and the frozen snapshot."""
import enum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voting.accounts.models import enum_column
from voting.database import UTCDateTime, utcnow
from voting.extensions import db


class TieMethod(str, enum.Enum):
    DRAW = "draw"
    JOINT = "joint"


class TieDecision(db.Model):
    """How a tie across an award boundary was settled: a replayable draw or a joint award."""

    __tablename__ = "tie_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), index=True)
    # Sorted finalist ids, comma-separated: the tie group this decision is about.
    finalists: Mapped[str] = mapped_column(String(500))
    method: Mapped[TieMethod] = mapped_column(enum_column(TieMethod, "tie_method"))
    seed: Mapped[str | None] = mapped_column(String(100))
    # The drawn order, comma-separated finalist ids, best first (draws only).
    drawn_order: Mapped[str | None] = mapped_column(String(500))
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)


class ResultSnapshot(db.Model):
    """The frozen results of an event: inputs, settings and outputs, and the SHA-256 of their canonical JSON."""

    __tablename__ = "result_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    frozen_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    frozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    canonical_json: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[object | None] = mapped_column(UTCDateTime())
