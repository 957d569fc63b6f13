"""The sealed ballot box of an event, its trustees, sealed ballots and receipts.

While an event's box is sealed, a ballot exists only as a SealedBallot: its approvals sealed
to the box's public key, beside nothing but its category. Receipts are kept in their own table
(never beside a ballot's content), so a receipt leads to no choice, sealed or plain.
"""
import secrets

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voting.database import UTCDateTime
from voting.extensions import db

DEFAULT_THRESHOLD = 3
DEFAULT_TRUSTEES = 5
MAX_TRUSTEES = 9


def random_sealed_id():
    return secrets.token_hex(16)


class BallotBox(db.Model):
    """One per sealed event: the public key, then the commitment at closing, the plain hash at opening.

    The private key is never here: only the trustees' shares, which the app does not keep,
    can rebuild it.
    """

    __tablename__ = "ballot_boxes"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    threshold: Mapped[int] = mapped_column(default=DEFAULT_THRESHOLD)
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    # A running ceremony: the salt of the key that holds its shares in the ceremony browser only.
    ceremony_salt: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    ceremony_started_at: Mapped[object | None] = mapped_column(UTCDateTime())
    ceremony_completed_at: Mapped[object | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[object | None] = mapped_column(UTCDateTime())
    commitment: Mapped[str | None] = mapped_column(String(64))
    sealed_hashes: Mapped[str | None] = mapped_column(Text)   # sorted, one per line, as committed
    opened_at: Mapped[object | None] = mapped_column(UTCDateTime())
    plain_sha256: Mapped[str | None] = mapped_column(String(64))

    trustees: Mapped[list["Trustee"]] = relationship(
        back_populates="box", order_by="Trustee.position", cascade="all, delete-orphan"
    )

    @property
    def has_key(self):
        return self.public_key is not None and self.ceremony_completed_at is not None

    @property
    def is_closed(self):
        return self.commitment is not None

    @property
    def is_opened(self):
        return self.opened_at is not None

    @property
    def hash_list(self):
        return self.sealed_hashes.split("\n") if self.sealed_hashes else []


class Trustee(db.Model):
    """A trustee (검표위원) of an event's box: an account holding one share of its key."""

    __tablename__ = "trustees"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id", name="uq_trustees_event_user"),
        UniqueConstraint("event_id", "position", name="uq_trustees_event_position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("ballot_boxes.event_id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    share_shown_at: Mapped[object | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[object | None] = mapped_column(UTCDateTime())

    box: Mapped[BallotBox] = relationship(back_populates="trustees")
    user = relationship("User")


class SealedBallot(db.Model):
    """A ballot of a sealed event: its approvals, group and channel sealed to the box's key.

    A random id and no rowid: SQLite keeps the rows in the order of their ids, not of casting.
    """

    __tablename__ = "sealed_ballots"
    __table_args__ = ({"sqlite_with_rowid": False},)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_sealed_id)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary(600))


class Receipt(db.Model):
    """The keyed hash of a ballot's receipt code, and the ballot's category, nothing else."""

    __tablename__ = "receipts"
    __table_args__ = ({"sqlite_with_rowid": False},)

    receipt_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), index=True)
