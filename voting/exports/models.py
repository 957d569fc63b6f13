"""What an organizer sets for the printed certificates (상장) of an event.

It is presentation, not a result input: it may change after the results are frozen, and the
certificates take every name, tier and category from the frozen results alone.
"""
from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from voting.database import UTCDateTime, utcnow
from voting.events.models import Event
from voting.extensions import db

ISSUER_MAX = 200
WORDING_MAX = 400  # what fits on the page under the name in a readable size


class CertificateTemplate(db.Model):
    """One per event: the issuer line, the wording with its placeholders, the date, a seal."""

    __tablename__ = "certificate_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    # The organizer's title and name as printed, e.g. "서울특별시 ○○구청장".
    issuer: Mapped[str] = mapped_column(String(ISSUER_MAX))
    # Text with {recipient}, {category}, {tier}, {event}; checked by voting.exports.certificates.check_wording.
    wording: Mapped[str] = mapped_column(Text)
    award_date: Mapped[date] = mapped_column(Date)
    # The re-encoded seal or logo (PNG keeps its transparency); the bytes load only when read.
    seal_data: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    seal_mime_type: Mapped[str | None] = mapped_column(String(20))
    seal_width: Mapped[int | None]
    seal_height: Mapped[int | None]
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship()

    __table_args__ = (
        CheckConstraint(
            "(seal_data IS NULL AND seal_mime_type IS NULL AND seal_width IS NULL AND seal_height IS NULL)"
            " OR (seal_data IS NOT NULL AND seal_mime_type IS NOT NULL"
            " AND seal_width IS NOT NULL AND seal_height IS NOT NULL)",
            name="seal_complete",
        ),
    )

    @property
    def has_seal(self):
        return self.seal_mime_type is not None

    def clear_seal(self):
        self.seal_data = self.seal_mime_type = self.seal_width = self.seal_height = None

    def set_seal(self, photo):
        """Stores a voting.nominations.photos.CleanPhoto."""
        self.seal_data, self.seal_mime_type = photo.data, photo.mime_type
        self.seal_width, self.seal_height = photo.width, photo.height
