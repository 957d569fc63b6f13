"""Account operations. They flush but never commit: the route commits once."""
import csv
import io

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from voting.accounts.models import Role, User
from voting.database import savepoint, utcnow
from voting.audit import operations as audit
from voting.extensions import db
from voting.security import TokenError, make_token, read_token

_dummy_hashes = {}


def _dummy_hash():
    """Checked against when no account matches, so a wrong address costs as long as a wrong password."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash("not-a-real-password", method=method)
    return _dummy_hashes[method]

INVITABLE_ROLES = (Role.OFFICIAL, Role.JUDGE, Role.STAFF)
CSV_MAX_ROWS = 2000


class EmailTaken(Exception):
    pass


def find_user_by_email(email):
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def _add_user(user):
    try:
        with savepoint(db.session):
            db.session.add(user)
    except IntegrityError as exc:
        raise EmailTaken(user.email) from exc
    return user


def register_resident(name, email, password, locale=None):
    if find_user_by_email(email):
        raise EmailTaken(email)
    user = User(name=name, email=email.lower(), role=Role.RESIDENT, locale=locale)
    user.set_password(password)
    return _add_user(user)


def create_organizer(name, email, password):
    if find_user_by_email(email):
        raise EmailTaken(email)
    user = User(name=name, email=email.lower(), role=Role.ORGANIZER, email_verified_at=utcnow())
    user.set_password(password)
    return _add_user(user)


def authenticate(email, password):
    user = find_user_by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.check_password(password) or not user.is_active:
        return None
    return user


def verification_token(user):
    return make_token("verify-email", {"u": user.id, "e": user.email})


def verify_email(token):
    payload = read_token("verify-email", token, current_app.config["EMAIL_VERIFY_MAX_AGE"])
    user = db.session.get(User, payload.get("u"))
    if user is None or user.email != payload.get("e"):
        raise TokenError(expired=False)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    return user


def _single_use_token(purpose, user):
    # The session token rotates when the password is set, which spends the link.
    return make_token(purpose, {"u": user.id, "s": user.session_token})


def _user_from_single_use_token(purpose, token, max_age):
    payload = read_token(purpose, token, max_age)
    user = db.session.get(User, payload.get("u"))
    if user is None or user.session_token != payload.get("s") or not user.is_enabled:
        raise TokenError(expired=False)
    return user


def password_reset_token(user):
    return _single_use_token("reset-password", user)


def user_for_password_reset(token):
    return _user_from_single_use_token("reset-password", token, current_app.config["PASSWORD_RESET_MAX_AGE"])


def reset_password(user, password):
    user.set_password(password)
    db.session.flush()
    return user


def invitation_token(user):
    return _single_use_token("invitation", user)


def user_for_invitation(token):
    user = _user_from_single_use_token("invitation", token, current_app.config["INVITATION_MAX_AGE"])
    if user.password_hash is not None:
        raise TokenError(expired=False)
    return user


def accept_invitation(user, password):
    user.set_password(password)
    user.email_verified_at = user.email_verified_at or utcnow()
    db.session.flush()
    return user


def invite_user(name, email, role, department=None):
    if role not in INVITABLE_ROLES:
        raise ValueError(role)
    if find_user_by_email(email):
        raise EmailTaken(email)
    user = _add_user(User(name=name, email=email.lower(), role=role, department=department or None, invited_at=utcnow()))
    audit.record("user.invite", details={"user_id": user.id, "role": role.value})
    return user


def renew_invitation(user):
    user.invited_at = utcnow()
    db.session.flush()
    audit.record("user.reinvite", details={"user_id": user.id})
    return user


def set_enabled(user, enabled):
    user.is_enabled = enabled
    if not enabled:
        user.end_sessions()
    db.session.flush()
    audit.record("user.enable" if enabled else "user.disable", details={"user_id": user.id})


def parse_invitation_csv(text):
    """Reads rows of name, email, department (a header row is optional).

    Returns (rows, errors): rows are dicts to invite, errors are (line, message).
    """
    rows, errors, seen = [], [], set()
    reader = csv.reader(io.StringIO(text))
    for line_number, record in enumerate(reader, start=1):
        if not any(cell.strip() for cell in record):
            continue
        cells = [cell.strip() for cell in record]
        if line_number == 1 and cells and cells[0].lower() in {"name", "이름", "성명"}:
            continue
        if line_number > CSV_MAX_ROWS:
            errors.append((line_number, _("Too many rows: at most %(max)d are read.", max=CSV_MAX_ROWS)))
            break
        if len(cells) < 2:
            errors.append((line_number, _("Expected name, email and department separated by commas.")))
            continue
        name, email = cells[0], cells[1]
        department = cells[2] if len(cells) > 2 else ""
        if not name:
            errors.append((line_number, _("The name is missing.")))
            continue
        if any(ord(ch) < 32 and ch not in "\r\n\t" for ch in name + department):
            errors.append((line_number, _("Remove invisible control characters.")))
            continue
        if len(name) > 100 or len(department) > 100:
            errors.append((line_number, _("The name or department is longer than 100 characters.")))
            continue
        try:
            email = validate_email(email, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            errors.append((line_number, _("“%(email)s” is not a valid email address.", email=email)))
            continue
        if email in seen:
            errors.append((line_number, _("%(email)s appears twice in the file.", email=email)))
            continue
        seen.add(email)
        rows.append({"line": line_number, "name": name, "email": email, "department": department})
    return rows, errors


def import_invitations(text, role):
    """Invites every good row; bad rows and existing addresses are reported by line."""
    rows, errors = parse_invitation_csv(text)
    invited = []
    for row in rows:
        try:
            invited.append(invite_user(row["name"], row["email"], role, row["department"]))
        except EmailTaken:
            errors.append((row["line"], _("%(email)s already has an account.", email=row["email"])))
    errors.sort()
    return invited, errors
