import enum

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voting.accounts.models import Role, User, enum_column
from voting.database import UTCDateTime, utcnow
from voting.events.models import Category, Department, Event, Field
from voting.extensions import db


class NominationState(str, enum.Enum):
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    FINALIST = "finalist"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


# The wording the nominee agreed to is versioned so that a later change of
# wording does not silently rewrite what an earlier consent covered.
CONSENT_VERSION = "2026-1"


class Nomination(db.Model):
    __tablename__ = "nominations"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), index=True)
    nominator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[NominationState] = mapped_column(
        enum_column(NominationState, "nomination_state"), default=NominationState.SUBMITTED
    )
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    field_id: Mapped[int] = mapped_column(ForeignKey("fields.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    nominee_name: Mapped[str | None] = mapped_column(String(100))
    nominee_affiliation: Mapped[str | None] = mapped_column(String(150))
    consent_given_at: Mapped[object | None] = mapped_column(UTCDateTime())
    consent_version: Mapped[str | None] = mapped_column(String(20))
    consent_method: Mapped[str | None] = mapped_column(String(200))
    screening_note: Mapped[str | None] = mapped_column(Text)
    screened_at: Mapped[object | None] = mapped_column(UTCDateTime())
    screened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A random key carried by the form: a double submit of the same form makes one nomination.
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship()
    category: Mapped[Category] = relationship()
    field: Mapped[Field] = relationship()
    department: Mapped[Department | None] = relationship()
    nominator: Mapped[User] = relationship(foreign_keys=[nominator_id])
    screened_by: Mapped[User | None] = relationship(foreign_keys=[screened_by_id])
    photo: Mapped["NominationPhoto | None"] = relationship(
        back_populates="nomination", cascade="all, delete-orphan", uselist=False
    )

    @property
    def is_finalist(self):
        return self.state == NominationState.FINALIST

    def is_nominator(self, user):
        return user.is_authenticated and user.id == self.nominator_id

    def can_view(self, user):
        """Finalists of public events are public; otherwise only the nominator and organizers."""
        if user.is_authenticated and user.role == Role.ORGANIZER:
            return True
        if self.is_nominator(user):
            return True
        return self.is_finalist and self.event.is_public

    def can_edit(self, user, now=None):
        """Before screening while the window is open, or after changes were requested until voting starts."""
        if not self.is_nominator(user) or self.event.is_locked:
            return False
        now = now or utcnow()
        if self.state == NominationState.SUBMITTED:
            return self.event.accepts_nominations(now)
        if self.state == NominationState.CHANGES_REQUESTED:
            return not self.event.voting.has_started(now)
        return False

    def can_withdraw(self, user, now=None):
        if not self.is_nominator(user) or self.event.is_locked:
            return False
        if self.state in (NominationState.SUBMITTED, NominationState.CHANGES_REQUESTED):
            return True
        return self.state == NominationState.FINALIST and not self.event.voting.has_started(now or utcnow())

    def can_screen(self, user):
        return (
            user.is_authenticated
            and user.role == Role.ORGANIZER
            and not self.event.is_locked
            and self.state != NominationState.WITHDRAWN
        )


class NominationPhoto(db.Model):
    """The re-encoded photo; kept in the database so backups and clones carry it."""

    __tablename__ = "nomination_photos"

    nomination_id: Mapped[int] = mapped_column(ForeignKey("nominations.id", ondelete="CASCADE"), primary_key=True)
    mime_type: Mapped[str] = mapped_column(String(20))
    width: Mapped[int]
    height: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)

    nomination: Mapped[Nomination] = relationship(back_populates="photo")
