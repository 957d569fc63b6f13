"""The roll (명부) of an event: reading the organizers' CSV file and importing it.

A file has a header row naming its columns, in English or in Korean, in any order:
``name,birth_date,phone,district,dong,group`` (``이름,생년월일,휴대폰,구,동,구분``), plus an
optional ``email`` (``이메일``) used to mail personal links. It is UTF-8 (with or without
a BOM, as Excel writes it) or CP949 (Excel's Korean encoding), at most 2 MB.

Bad rows are reported by line, the header being line 1, and the good rows are kept. A
re-import updates the entries by phone. The phone is kept only as its HMAC, its last
four digits and a sealed copy for delivering personal links (voting.identity); each new
entry gets its elector (kind roll) in the same transaction. Operations flush, never commit.
"""
import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from voting.accounts.models import VotingGroup
from voting.audit import operations as audit
from voting.ballots.models import Participation
from voting.database import begin_write, savepoint, utcnow
from voting.electors.models import Elector, ElectorKind, RollEntry
from voting.events.models import Event, EventState
from voting.events.operations import EventLocked, NotAllowed, ensure_unlocked
from voting.extensions import db
from voting.i18n import SEOUL
from voting.identity import InvalidPhone, parse_phone, seal_phone

ROLL_MAX_BYTES = 2 * 1024 * 1024
COLUMNS = ("name", "birth_date", "phone", "district", "dong", "group")
OPTIONAL_COLUMNS = ("email",)
KOREAN_COLUMNS = {"name": "이름", "birth_date": "생년월일", "phone": "휴대폰", "district": "구", "dong": "동",
                  "group": "구분", "email": "이메일"}
HEADER_NAMES = {**{name: name for name in COLUMNS + OPTIONAL_COLUMNS},
                **{korean: name for name, korean in KOREAN_COLUMNS.items()}}
GROUP_NAMES = {"resident": VotingGroup.RESIDENT, "official": VotingGroup.OFFICIAL,
               "주민": VotingGroup.RESIDENT, "공무원": VotingGroup.OFFICIAL}
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
LIMITS = {"name": 100, "district": 50, "dong": 50, "email": 254}
# Two imports of one event's roll wait for each other on PostgreSQL (SQLite's write lock does it there).
IMPORT_LOCK = text("SELECT pg_advisory_xact_lock(7302, :event_id)")
EVENT_UNDER_LOCK = select(Event.state, Event.vote_closes_at).where(Event.id == bindparam("event_id")).with_for_update(read=True)
CHUNK = 500


class RollFileRefused(NotAllowed):
    """The file as a whole cannot be read (encoding, size, header): nothing of it was imported."""


@dataclass(frozen=True)
class RollRow:
    line: int
    name: str
    birth_date: date
    phone: object  # voting.identity.Phone: only ever in memory
    phone_hmac: str
    district: str
    dong: str
    group: VotingGroup
    email: str | None
    has_email: bool  # the file has an email column: without one, a re-import leaves the addresses as they are

    @property
    def values(self):
        """The stored values a re-import compares and updates."""
        values = {"name": self.name, "birth_date": self.birth_date, "district": self.district, "dong": self.dong,
                  "voting_group": self.group}
        if self.has_email:
            values["email"] = self.email
        return values


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)  # [(line, message)], by line

    @property
    def refused(self):
        return len(self.errors)

    @property
    def kept(self):
        return self.added + self.updated + self.unchanged


# ---------------------------------------------------------------- reading the file


def decode_roll(raw):
    """The text of an uploaded file: UTF-8 (a BOM is dropped) or CP949; RollFileRefused otherwise."""
    if len(raw) > ROLL_MAX_BYTES:
        raise RollFileRefused(_("The file is larger than 2 MB. Split the roll into several files and upload them one by one."))
    if b"\x00" in raw:
        raise RollFileRefused(_("This is not a CSV text file. In Excel, choose “Save as” and the type “CSV (comma delimited)”."))
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RollFileRefused(_("The file's characters could not be read. Save it as CSV in UTF-8 or in Excel's Korean encoding (CP949)."))


def _header_help():
    return _("The first line must name the columns: %(english)s (or in Korean: %(korean)s), and optionally email (이메일).",
             english=",".join(COLUMNS), korean=",".join(KOREAN_COLUMNS[name] for name in COLUMNS))


def _read_header(cells):
    """{column: index} from the header row; RollFileRefused naming what is wrong with it."""
    positions, unknown, doubled = {}, [], []
    for index, cell in enumerate(cells):
        label = cell.strip()
        name = HEADER_NAMES.get(label.lower())
        if name is None:
            if label:
                unknown.append(label)
        elif name in positions:
            doubled.append(label)
        else:
            positions[name] = index
    missing = [name for name in COLUMNS if name not in positions]
    problems = []
    if unknown:
        problems.append(_("Unknown columns: %(names)s.", names=", ".join(unknown)))
    if missing:
        problems.append(_("Missing columns: %(names)s.", names=", ".join(missing)))
    if doubled:
        problems.append(_("Columns named twice: %(names)s.", names=", ".join(doubled)))
    if problems:
        raise RollFileRefused(" ".join(problems + [_header_help()]))
    return positions


def _clean_text(value, name, problems, required_message=None):
    value = unicodedata.normalize("NFC", value.strip())
    if not value:
        if required_message:
            problems.append(required_message)
        return value
    if "\n" in value or "\r" in value:
        problems.append(_("A value runs over two lines: remove the line break inside the quotes."))
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        problems.append(_("Remove invisible control characters."))
    if len(value) > LIMITS[name]:
        problems.append(_("A value is longer than %(max)d characters.", max=LIMITS[name]))
    return value


def _read_birth_date(value, problems):
    value = value.strip()
    if not value:
        problems.append(_("The date of birth is missing."))
        return None
    if not DATE_PATTERN.fullmatch(value):
        problems.append(_("Write the date of birth as year-month-day, for example 1950-03-01."))
        return None
    try:
        born = date.fromisoformat(value)
    except ValueError:
        problems.append(_("There is no such date as %(date)s.", date=value))
        return None
    if born.year < 1900 or born > datetime.now(SEOUL).date():
        problems.append(_("The date of birth %(date)s cannot be right.", date=value))
        return None
    return born


def _read_phone(value, problems):
    value = value.strip()
    if not value:
        problems.append(_("The mobile number is missing."))
        return None
    try:
        return parse_phone(value)
    except InvalidPhone:
        pass
    try:
        number = phonenumbers.parse(value, "KR")
        landline = phonenumbers.is_valid_number(number)
    except phonenumbers.NumberParseException:
        landline = False
    if landline:
        problems.append(_("This is not a mobile number (it may be a landline). Write a mobile number, for example 010-1234-5678."))
    else:
        problems.append(_("The mobile number is not valid. Write it like 010-1234-5678."))
    return None


def _read_group(value, problems):
    group = GROUP_NAMES.get(value.strip().lower())
    if group is None:
        problems.append(_("The group must be 주민 (resident) or 공무원 (official)."))
    return group


def _read_email(value, problems):
    value = value.strip()
    if not value:
        return None
    if len(value) > LIMITS["email"]:
        problems.append(_("A value is longer than %(max)d characters.", max=LIMITS["email"]))
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        problems.append(_("The email address is not valid."))
        return None


def _read_row(line, cells, positions, width):
    """A RollRow, or the list of what is wrong with the line (width: the header's number of cells)."""
    if len(cells) > width and any(cell.strip() for cell in cells[width:]):
        return [_("This line has more values than the header (%(found)d instead of %(expected)d). "
                  "Put a value that holds a comma in double quotes.", found=len(cells), expected=width)]
    needed = max(positions.values()) + 1
    if len(cells) < needed:
        return [_("This line has only %(found)d values; the header has %(expected)d.", found=len(cells), expected=width)]
    value = {name: cells[index] for name, index in positions.items()}
    problems = []
    name = _clean_text(value["name"], "name", problems, _("The name is missing."))
    birth_date = _read_birth_date(value["birth_date"], problems)
    phone = _read_phone(value["phone"], problems)
    district = _clean_text(value["district"], "district", problems)
    dong = _clean_text(value["dong"], "dong", problems)
    group = _read_group(value["group"], problems)
    email = _read_email(value["email"], problems) if "email" in value else None
    if problems:
        return list(dict.fromkeys(problems))
    return RollRow(line, name, birth_date, phone, phone.digest, district, dong, group, email, "email" in value)


def parse_roll(text):
    """(rows, errors) of a roll's text: RollRows to import, and (line, message) for the lines refused.

    Lines count the header as line 1; a row that spans lines (a quoted line break) is
    reported at the line where it starts. A phone that appears again is refused on its
    later lines. Raises RollFileRefused when the header is wrong or there is no row.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    header = None
    rows, errors, seen = [], [], {}
    end_of_last = 0
    try:
        for cells in reader:
            line, end_of_last = end_of_last + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = _read_header(cells)
                width = len(cells)
                continue
            result = _read_row(line, cells, header, width)
            if isinstance(result, list):
                if end_of_last > line:
                    result.insert(0, _("(This row runs from line %(first)d to line %(last)d.)", first=line, last=end_of_last))
                errors.append((line, " ".join(result)))
                continue
            first = seen.get(result.phone_hmac)
            if first is not None:
                errors.append((line, _("This mobile number is also on line %(line)d. Each person may be on the roll only once.",
                                       line=first)))
                continue
            seen[result.phone_hmac] = line
            rows.append(result)
    except csv.Error:
        raise RollFileRefused(_("Line %(line)d could not be read as CSV: check its double quotes.",
                                line=end_of_last + 1)) from None
    if header is None:
        raise RollFileRefused(_("The file is empty.") + " " + _header_help())
    if not rows and not errors:
        raise RollFileRefused(_("The file has no rows under its header."))
    return rows, errors


# ---------------------------------------------------------------- importing


def ensure_roll_can_change(event):
    """Raises EventLocked (frozen, published) or NotAllowed (voting closed) when the roll may not change now."""
    ensure_unlocked(event)
    _ensure_voting_not_closed(event.state, event.vote_closes_at)


def _ensure_voting_not_closed(state, vote_closes_at):
    if state == EventState.CLOSED or (vote_closes_at is not None and vote_closes_at <= utcnow()):
        raise NotAllowed(_("Voting in this event has closed, so its roll can no longer change."))


def _hold_event(event_id):
    """Takes the write lock, serializes imports of this roll, and checks the event afresh under them."""
    begin_write(db.session)
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(IMPORT_LOCK, {"event_id": event_id})
    state, vote_closes_at = connection.execute(EVENT_UNDER_LOCK, {"event_id": event_id}).one()
    if state in (EventState.FROZEN, EventState.PUBLISHED):
        raise EventLocked(event_id)
    _ensure_voting_not_closed(state, vote_closes_at)


def _chunks(items, size=CHUNK):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _existing_entries(event_id):
    """{phone HMAC: row} of the event's roll as it is, with each entry's elector."""
    rows = db.session.execute(
        select(RollEntry.id, RollEntry.phone_hmac, RollEntry.phone_sealed.is_(None).label("unsealed"),
               RollEntry.name, RollEntry.birth_date, RollEntry.district, RollEntry.dong, RollEntry.group,
               RollEntry.email, Elector.id.label("elector_id"), Elector.group.label("elector_group"))
        .outerjoin(Elector, Elector.roll_entry_id == RollEntry.id)
        .where(RollEntry.event_id == event_id)
    )
    return {row.phone_hmac: row for row in rows}


def _phones_of_other_electors(event_id, entries):
    """HMACs of phones that are an elector of the event other than by an entry of its roll (a phone check)."""
    roll_electors = {row.elector_id for row in entries.values() if row.elector_id is not None}
    return {
        phone_hmac
        for elector_id, phone_hmac in db.session.execute(
            select(Elector.id, Elector.phone_hmac).where(Elector.event_id == event_id, Elector.phone_hmac.is_not(None))
        )
        if elector_id not in roll_electors
    }


def _electors_who_voted(elector_ids):
    voted = set()
    for chunk in _chunks(elector_ids):
        voted.update(db.session.scalars(
            select(Participation.elector_id).where(Participation.elector_id.in_(chunk)).distinct()
        ))
    return voted


def _plan(event_id, rows):
    """Sorts the file's rows against the roll as it is: what to add, update, leave, refuse.

    Returns (new rows, [(entry, row)] to update, [(entry, row)] whose entry lacks its
    elector, the number unchanged, errors).
    """
    entries = _existing_entries(event_id)
    others = _phones_of_other_electors(event_id, entries)
    regrouped = [entries[row.phone_hmac].elector_id for row in rows
                 if row.phone_hmac in entries and entries[row.phone_hmac].elector_id is not None
                 and entries[row.phone_hmac].elector_group != row.group]
    voted = _electors_who_voted(regrouped) if regrouped else set()
    new, changed, missing_electors, errors = [], [], [], []
    unchanged = 0
    for row in rows:
        digest = row.phone_hmac
        entry = entries.get(digest)
        if digest in others:
            errors.append((row.line, _("This mobile number is already a voter of this event through a phone check, "
                                       "so it cannot also be on the roll.")))
        elif entry is None:
            new.append(row)
        elif entry.elector_id in voted:
            errors.append((row.line, _("This person has already voted as %(group)s, so their group cannot change.",
                                       group=_group_name(entry.elector_group))))
        else:
            stored = {"name": entry.name, "birth_date": entry.birth_date, "district": entry.district,
                      "dong": entry.dong, "voting_group": entry.group, "email": entry.email}
            stored = {key: stored[key] for key in row.values}
            regroup = entry.elector_id is not None and entry.elector_group != row.group
            if stored != row.values or entry.unsealed or regroup:
                changed.append((entry, row))
            if entry.elector_id is None:
                missing_electors.append((entry, row))
            if stored == row.values and not entry.unsealed and not regroup and entry.elector_id is not None:
                unchanged += 1
    return new, changed, missing_electors, unchanged, errors


def _group_name(group):
    return _("a resident") if group == VotingGroup.RESIDENT else _("an official")


def _write(event_id, rows, sealed, report):
    """The rows' inserts and updates (Core statements, in chunks); fills the report's counts and errors.

    ``sealed``: {phone HMAC: the number sealed for delivery}, made before the write lock was taken.
    """
    new, changed, missing_electors, unchanged, errors = _plan(event_id, rows)
    now = utcnow()
    connection = db.session.connection()
    entries, electors = RollEntry.__table__, Elector.__table__
    made = {}
    for chunk in _chunks(new):
        inserted = connection.execute(
            insert(entries).returning(entries.c.id, entries.c.phone_hmac),
            [{"event_id": event_id, **row.values, "phone_hmac": row.phone_hmac, "phone_last4": row.phone.last4,
              "phone_sealed": sealed[row.phone_hmac], "created_at": now, "updated_at": now} for row in chunk],
        )
        made.update({phone_hmac: entry_id for entry_id, phone_hmac in inserted})
    elector_rows = [(made[row.phone_hmac], row) for row in new] + [(entry.id, row) for entry, row in missing_electors]
    for chunk in _chunks(elector_rows):
        connection.execute(insert(electors), [
            {"event_id": event_id, "voting_group": row.group, "kind": ElectorKind.ROLL, "phone_hmac": row.phone_hmac,
             "phone_last4": row.phone.last4, "roll_entry_id": entry_id, "created_at": now}
            for entry_id, row in chunk
        ])
    if changed:
        columns = {"name": bindparam("b_name"), "birth_date": bindparam("b_birth_date"),
                   "district": bindparam("b_district"), "dong": bindparam("b_dong"), "voting_group": bindparam("b_group"),
                   "phone_sealed": bindparam("b_sealed"), "updated_at": bindparam("b_now")}
        if rows[0].has_email:  # the same for every row of a file
            columns["email"] = bindparam("b_email")
        update_entry = update(entries).where(entries.c.id == bindparam("entry_id")).values(**columns)
        for chunk in _chunks(changed):
            connection.execute(update_entry, [
                {"entry_id": entry.id, "b_name": row.name, "b_birth_date": row.birth_date, "b_district": row.district,
                 "b_dong": row.dong, "b_group": row.group, "b_email": row.email, "b_now": now,
                 "b_sealed": sealed[row.phone_hmac]}
                for entry, row in chunk
            ])
        regroup = [(entry.elector_id, row.group) for entry, row in changed
                   if entry.elector_id is not None and entry.elector_group != row.group]
        update_elector = update(electors).where(electors.c.id == bindparam("e_id")).values(voting_group=bindparam("e_group"))
        for chunk in _chunks(regroup):
            connection.execute(update_elector, [{"e_id": elector_id, "e_group": group} for elector_id, group in chunk])
    report.added = len(new)
    report.updated = len({entry.id for entry, _row in changed + missing_electors})
    report.unchanged = unchanged
    report.errors.extend(errors)


def import_roll(event, raw):
    """Imports a roll file (bytes) into the event; returns an ImportReport. Flushes, never commits.

    Raises EventLocked (frozen or published), NotAllowed (voting closed; or a conflict with
    another writer that a second try did not resolve) or RollFileRefused (the file as a
    whole). Rows refused are in the report; the others are saved with the caller's commit.
    """
    ensure_roll_can_change(event)
    rows, errors = parse_roll(decode_roll(raw))
    sealed = {row.phone_hmac: seal_phone(row.phone) for row in rows}
    _hold_event(event.id)  # the slow part, reading the file, is done: the lock is held only to write
    for tries_left in (1, 0):
        report = ImportReport(errors=list(errors))
        try:
            with savepoint(db.session):
                _write(event.id, rows, sealed, report)
            break
        except IntegrityError:
            # Another writer added one of these phones between the reading and the writing (a
            # phone check at the desk, on PostgreSQL where only imports take the import lock):
            # the savepoint undid this try; read the roll again.
            if not tries_left:
                raise NotAllowed(_("The roll was changed by someone else at the same moment. Nothing of this file "
                                   "was saved; please upload it again.")) from None
    report.errors.sort(key=lambda error: error[0])
    audit.record("roll.import", event_id=event.id, details={
        "added": report.added, "updated": report.updated, "unchanged": report.unchanged, "refused": report.refused,
    })
    return report
