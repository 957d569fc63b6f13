"""Ballots and who has voted, kept apart so that no row joins a voter to a choice.

A ballot's content (Ballot, BallotApproval) has a random id, no voter, no receipt and no time.
The record that someone voted (Participation) has the elector and the time, and no ballot id.
In a sealed event a ballot is first a voting.sealing SealedBallot, and becomes a Ballot only
when the box is opened, all of them at once in a random order.
"""
import enum
import secrets

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voting.accounts.models import VotingGroup, enum_column
from voting.database import UTCDateTime, utcnow
from voting.extensions import db


class Channel(str, enum.Enum):
    ONLINE = "online"
    ONSITE = "onsite"
    PAPER = "paper"


def random_ballot_id():
    return secrets.token_hex(16)


class Ballot(db.Model):
    __tablename__ = "ballots"
    # Without a rowid, SQLite stores ballots in the order of their random ids, not of casting.
    __table_args__ = (
        Index("ix_ballots_category_group_channel", "category_id", "voting_group", "channel"),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_ballot_id)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    group: Mapped[VotingGroup] = mapped_column("voting_group", enum_column(VotingGroup, "ballot_group"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "ballot_channel"))

    approvals: Mapped[list["BallotApproval"]] = relationship(back_populates="ballot", cascade="all, delete-orphan")


class BallotApproval(db.Model):
    """One approved finalist of a ballot. The ballot's category, group and channel are
    repeated here (a ballot never changes), and exactly one approval of each ballot (the
    one with the lowest finalist id) opens it, so that one indexed GROUP BY counts both
    the approvals v_g(i) and the ballots B_g."""

    __tablename__ = "ballot_approvals"
    __table_args__ = (
        Index("ix_ballot_approvals_tally", "category_id", "voting_group", "channel", "nomination_id", "opens_ballot"),
        {"sqlite_with_rowid": False},
    )

    ballot_id: Mapped[str] = mapped_column(ForeignKey("ballots.id", ondelete="CASCADE"), primary_key=True)
    nomination_id: Mapped[int] = mapped_column(ForeignKey("nominations.id", ondelete="CASCADE"), primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    group: Mapped[VotingGroup] = mapped_column("voting_group", enum_column(VotingGroup, "approval_group"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "approval_channel"))
    opens_ballot: Mapped[bool]

    ballot: Mapped[Ballot] = relationship(back_populates="approvals")


class Participation(db.Model):
    """That an elector has voted in a category, and by which channel; one each, by the database."""

    __tablename__ = "participations"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), index=True)
    elector_id: Mapped[int] = mapped_column(ForeignKey("electors.id", ondelete="CASCADE"), index=True)
    group: Mapped[VotingGroup] = mapped_column("voting_group", enum_column(VotingGroup, "participation_group"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "participation_channel"))
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("category_id", "elector_id", name="uq_participations_category_elector"),
    )


class OnsiteCodeBatch(db.Model):
    __tablename__ = "onsite_code_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    group: Mapped[VotingGroup] = mapped_column("voting_group", enum_column(VotingGroup, "batch_group"))
    label: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[int]
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[object | None] = mapped_column(UTCDateTime())

    codes: Mapped[list["OnsiteCode"]] = relationship(back_populates="batch", cascade="all, delete-orphan")

    @property
    def is_revoked(self):
        return self.revoked_at is not None


class OnsiteCode(db.Model):
    __tablename__ = "onsite_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("onsite_code_batches.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)

    batch: Mapped[OnsiteCodeBatch] = relationship(back_populates="codes")


class OnsiteSession(db.Model):
    """On-site voting for one category, opened and closed by an organizer on the day."""

    __tablename__ = "onsite_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), index=True)
    opened_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    closes_at: Mapped[object | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[object | None] = mapped_column(UTCDateTime())

    def is_open(self, now):
        if self.closed_at is not None:
            return False
        return self.closes_at is None or now < self.closes_at


class PaperTotal(db.Model):
    """Counted paper ballots of one group in one category, entered as totals."""

    __tablename__ = "paper_totals"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    group: Mapped[VotingGroup] = mapped_column("voting_group", enum_column(VotingGroup, "paper_group"))
    ballots: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    approvals: Mapped[list["PaperApproval"]] = relationship(back_populates="total", cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("category_id", "voting_group", name="uq_paper_totals_category_group"),
        CheckConstraint("ballots >= 0", name="ballots_not_negative"),
    )


class PaperApproval(db.Model):
    __tablename__ = "paper_approvals"

    total_id: Mapped[int] = mapped_column(ForeignKey("paper_totals.id", ondelete="CASCADE"), primary_key=True)
    nomination_id: Mapped[int] = mapped_column(ForeignKey("nominations.id", ondelete="CASCADE"), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)

    total: Mapped[PaperTotal] = relationship(back_populates="approvals")

    __table_args__ = (CheckConstraint("count >= 0", name="count_not_negative"),)
