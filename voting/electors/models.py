"""Electors: the person entitled to one ballot per category of an event.

Every participation is keyed by (category, elector), unique in the database, so an online
ballot, an on-site card and a personal link of one person collide there whatever the
channel. Who the elector is depends on the event's eligibility mode:

- ``open``: the account (or, for a card no desk has bound, the card itself);
- ``phone``: the mobile phone confirmed by an SMS code, however many accounts;
- ``roll``: the entry on the event's roll (명부).

Invited officials are account electors of the official group in every mode.
"""
import enum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voting.accounts.models import VotingGroup, enum_column
from voting.database import UTCDateTime, utcnow
from voting.extensions import db


class EligibilityMode(str, enum.Enum):
    OPEN = "open"
    PHONE = "phone"
    ROLL = "roll"


class ElectorKind(str, enum.Enum):
    ACCOUNT = "account"
    PHONE = "phone"
    ROLL = "roll"
    CARD = "card"


class Elector(db.Model):
    __tablename__ = "electors"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    group: Mapped[VotingGroup] = mapped_column("voting_group", enum_column(VotingGroup, "elector_group"))
    kind: Mapped[ElectorKind] = mapped_column(enum_column(ElectorKind, "elector_kind"))
    # The account that votes online as this elector (one account per elector and event).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # HMAC-SHA-256 of the phone under IDENTITY_KEY: one phone, one elector per event.
    phone_hmac: Mapped[str | None] = mapped_column(String(64))
    phone_last4: Mapped[str | None] = mapped_column(String(4))
    roll_entry_id: Mapped[int | None] = mapped_column(ForeignKey("roll_entries.id", ondelete="SET NULL"), unique=True)
    # Kind card: the on-site card no desk bound, which is its own elector (open mode only).
    code_id: Mapped[int | None] = mapped_column(ForeignKey("onsite_codes.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)

    roll_entry: Mapped["RollEntry | None"] = relationship(foreign_keys=[roll_entry_id])

    __table_args__ = (
        UniqueConstraint("event_id", "user_id", name="uq_electors_event_user"),
        UniqueConstraint("event_id", "phone_hmac", name="uq_electors_event_phone"),
        Index("ix_electors_event_kind", "event_id", "kind"),
    )


class RollEntry(db.Model):
    """One person on an event's roll, imported from a CSV file by the organizers."""

    __tablename__ = "roll_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[object] = mapped_column(Date)
    phone_hmac: Mapped[str] = mapped_column(String(64))
    phone_last4: Mapped[str] = mapped_column(String(4))
    # The number sealed under a key derived from IDENTITY_KEY, only to deliver the personal link.
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    email: Mapped[str | None] = mapped_column(String(254))
    district: Mapped[str] = mapped_column(String(50), default="")
    dong: Mapped[str] = mapped_column(String(50), default="")
    group: Mapped[VotingGroup] = mapped_column("voting_group", enum_column(VotingGroup, "roll_group"))
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("event_id", "phone_hmac", name="uq_roll_entries_event_phone"),
        Index("ix_roll_entries_event_name", "event_id", "name"),
        Index("ix_roll_entries_event_last4", "event_id", "phone_last4"),  # found by the last four digits
    )


class LinkChannel(str, enum.Enum):
    SMS = "sms"
    MAIL = "mail"


class DeliveryState(str, enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class LinkDispatch(db.Model):
    """One sending of personal links to a selection of the roll: its progress page follows it."""

    __tablename__ = "link_dispatches"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    channel: Mapped[LinkChannel] = mapped_column(enum_column(LinkChannel, "dispatch_channel"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)

    links: Mapped[list["PersonalLink"]] = relationship(back_populates="dispatch")


class PersonalLink(db.Model):
    """A single-use link that opens the ballot of one roll elector without an account.

    Only the SHA-256 of its token is kept, and the token is made when the message is
    sent, so no plain token is ever stored. It expires with the voting window.
    """

    __tablename__ = "personal_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    elector_id: Mapped[int] = mapped_column(ForeignKey("electors.id", ondelete="CASCADE"), index=True)
    dispatch_id: Mapped[int | None] = mapped_column(ForeignKey("link_dispatches.id", ondelete="SET NULL"), index=True)
    channel: Mapped[LinkChannel] = mapped_column(enum_column(LinkChannel, "link_channel"))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    state: Mapped[DeliveryState] = mapped_column(enum_column(DeliveryState, "link_state"), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[object | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[object] = mapped_column(UTCDateTime())
    opened_at: Mapped[object | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[object | None] = mapped_column(UTCDateTime())

    elector: Mapped[Elector] = relationship()
    dispatch: Mapped[LinkDispatch | None] = relationship(back_populates="links")

    def usable(self, now):
        return (self.token_hash is not None and self.revoked_at is None and self.opened_at is None
                and now < self.expires_at)


class SmsPurpose(str, enum.Enum):
    PHONE = "phone"    # a resident confirms a phone: it becomes their elector
    CLAIM = "claim"    # a resident claims their roll entry
    DESK = "desk"      # staff check a walk-in's phone at the desk


class SmsChallenge(db.Model):
    """A 6-digit code sent to a phone: valid 5 minutes, ended by the fifth wrong try."""

    __tablename__ = "sms_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[SmsPurpose] = mapped_column(enum_column(SmsPurpose, "sms_purpose"))
    phone_hmac: Mapped[str] = mapped_column(String(64))
    phone_last4: Mapped[str] = mapped_column(String(4))
    roll_entry_id: Mapped[int | None] = mapped_column(ForeignKey("roll_entries.id", ondelete="CASCADE"))
    salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[object] = mapped_column(UTCDateTime())
    ended_at: Mapped[object | None] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("failures >= 0", name="failures_not_negative"),)


class DestructionRecord(db.Model):
    """One line of the destruction ledger (파기 대장): what class of data, how much, when, by which rule."""

    __tablename__ = "destruction_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"), index=True)
    event_name: Mapped[str] = mapped_column(String(200))
    data_class: Mapped[str] = mapped_column(String(50))
    count: Mapped[int]
    rule: Mapped[str] = mapped_column(String(200))
    destroyed_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    destroyed_by: Mapped[str] = mapped_column(String(100))


class CardBinding(db.Model):
    """A printed on-site card bound to an elector at the check-in desk: it votes as that elector."""

    __tablename__ = "card_bindings"

    code_id: Mapped[int] = mapped_column(ForeignKey("onsite_codes.id", ondelete="CASCADE"), primary_key=True)
    elector_id: Mapped[int] = mapped_column(ForeignKey("electors.id", ondelete="CASCADE"), index=True)
    bound_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    bound_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    elector: Mapped[Elector] = relationship()
