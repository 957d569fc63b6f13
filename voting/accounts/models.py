import enum
import secrets

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import Enum, String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from voting.database import UTCDateTime, utcnow
from voting.extensions import db


class Role(str, enum.Enum):
    RESIDENT = "resident"
    OFFICIAL = "official"
    JUDGE = "judge"
    STAFF = "staff"  # 행사 도우미: the check-in desk, nothing else
    ORGANIZER = "organizer"


class VotingGroup(str, enum.Enum):
    RESIDENT = "resident"
    OFFICIAL = "official"


def enum_column(enum_class, name):
    """Stores the enum's value (not its name) as a checked string on every backend."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"))
    department: Mapped[str | None] = mapped_column(String(100))
    # The language the user last chose; mail to them is written in it.
    locale: Mapped[str | None] = mapped_column(String(5))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Rotated on every password change so that old sessions and links stop working.
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(16))
    email_verified_at: Mapped[object | None] = mapped_column(UTCDateTime())
    invited_at: Mapped[object | None] = mapped_column(UTCDateTime())
    is_enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)

    def set_password(self, password):
        self.password_hash = generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])
        self.end_sessions()

    def end_sessions(self):
        self.session_token = secrets.token_hex(16)

    def check_password(self, password):
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def get_id(self):
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self):
        return self.is_enabled and self.password_hash is not None

    @property
    def email_verified(self):
        return self.email_verified_at is not None

    @property
    def voting_group(self):
        """One account has one voting group; judges and organizers have none."""
        return {Role.RESIDENT: VotingGroup.RESIDENT, Role.OFFICIAL: VotingGroup.OFFICIAL}.get(self.role)

    def has_role(self, *roles):
        return self.role in roles

    @property
    def is_organizer(self):
        return self.role == Role.ORGANIZER

    def can_nominate(self):
        """Residents once their email is verified; officials (their address came with the invitation)."""
        if self.role == Role.RESIDENT:
            return self.email_verified
        return self.role == Role.OFFICIAL

    def __repr__(self):
        return f"<User {self.id} {self.role.value}>"
