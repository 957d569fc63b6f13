"""The personal-data lifecycle (PIPA): destroying an event's personal data when its retention ends.

**When.** An event is *due* once its results were published (ResultSnapshot.published_at) and
more than ``event.retention_months`` calendar months have passed since, counted on Seoul dates:
published on 2019-12-13 with 6 months, the data is kept through 2020-06-13 and due from
2020-06-14 (a day that a shorter month lacks is its last day: Aug 31 + 6 months is Feb 28/29).
An event whose results were never published is never due.

**What**, per due event, each a class of data of the destruction ledger (파기 대장):

- ``resident_accounts``: contact data no live account needs. A resident account is cleared when
  it is disabled (so nobody signs in with it), it took part in this event (an elector of it, a
  nomination in it, or an SMS code for it) and every event it took part in is due. Its email
  becomes the inert ``user-<id>@erased.invalid`` (the ``.invalid`` domain never receives mail),
  its name is blanked, department, language and password are removed and its sessions end.
  The row stays, because nominations and electors refer to it; enabled accounts keep their data,
  which the sign-up notice says is kept while the account exists.
- ``sms_challenges``: every SMS code sent for the event (hashes, phone fingerprints).
- ``personal_links`` and ``link_dispatches``: the personal voting links of the event's electors
  and the sendings they belonged to.
- ``elector_phones``: the phone fingerprint (HMAC) and last four digits on the electors. The
  electors stay (participations refer to them), without personal data.
- ``roll_entries``: the roll (명부): names, birth dates, phones (fingerprint, last digits and the
  sealed copy), emails, districts. Electors keep existing: their roll_entry_id becomes NULL by
  the foreign key.
- ``nominee_data``: of person nominations that did not become finalists, the nominee's name,
  affiliation, photo and consent record (time, version, method). The nomination row stays, so
  counts of nominations still add up.

**Never touched**: published results, snapshots and bundles, ballots and their approvals,
participations, electors' rows, card bindings (the staff who bound a card is not personal data
of the voter) and the audit log.

**Records.** Applying writes one DestructionRecord per event and class whose count is above
zero, all with the same time, the rule and who ran it ("cli" or the organizer). So a second
run, which finds nothing left, destroys nothing and writes nothing; a class that never held
anything leaves no line. A dry run only counts, with the same conditions, and writes nothing.

Operations flush, never commit.
"""
import calendar
import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, exists, func, or_, select, update

from voting.accounts.models import Role, User
from voting.database import begin_write, utcnow
from voting.electors.models import DestructionRecord, Elector, LinkDispatch, PersonalLink, RollEntry, SmsChallenge
from voting.events.models import Category, CategoryKind, Event
from voting.extensions import db
from voting.i18n import SEOUL, to_seoul
from voting.nominations.models import Nomination, NominationPhoto, NominationState
from voting.results.models import ResultSnapshot

CLI = "cli"
ERASED_DOMAIN = "erased.invalid"

# The classes of data, in the order they are destroyed and listed.
DATA_CLASSES = (
    "resident_accounts", "sms_challenges", "personal_links", "link_dispatches", "elector_phones", "roll_entries",
    "nominee_data",
)
DATA_CLASS_LABELS = {
    "resident_accounts": _l("Contact data of closed resident accounts (email, name)"),
    "sms_challenges": _l("SMS codes sent (phone fingerprint, code hash)"),
    "personal_links": _l("Personal voting links"),
    "link_dispatches": _l("Sendings of personal links"),
    "elector_phones": _l("Confirmed phones of electors (fingerprint, last four digits)"),
    "roll_entries": _l("Roll entries (name, date of birth, phone, email, address)"),
    "nominee_data": _l("Personal data of nominees who were not finalists (name, affiliation, photo, consent)"),
}


def data_class_label(key):
    return DATA_CLASS_LABELS.get(key, key)


# ---------------------------------------------------------------------------
# When: retention dates


def add_months(day, months):
    """The same day ``months`` calendar months later; a day the month lacks becomes its last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def seoul_today():
    return datetime.now(SEOUL).date()


@dataclass(frozen=True)
class Retention:
    """An event's retention: when its results were published and the last day its data is kept."""

    event_id: int
    event_name: str
    months: int
    published_at: datetime | None

    @property
    def published_on(self):
        return to_seoul(self.published_at).date() if self.published_at is not None else None

    @property
    def kept_until(self):
        """The last day (Seoul) the personal data is kept, or None while the results are unpublished."""
        return add_months(self.published_on, self.months) if self.published_at is not None else None

    @property
    def kept_until_end(self):
        """The end of the last day kept (Seoul), for the date filters of the pages."""
        return datetime.combine(self.kept_until, time.max, SEOUL) if self.kept_until is not None else None

    def is_due(self, today):
        return self.kept_until is not None and today > self.kept_until


def retentions():
    """The retention of every event, by id."""
    rows = db.session.execute(
        select(Event.id, Event.name, Event.retention_months, ResultSnapshot.published_at)
        .outerjoin(ResultSnapshot, ResultSnapshot.event_id == Event.id)
        .order_by(Event.id)
    )
    return [Retention(*row) for row in rows]


# ---------------------------------------------------------------------------
# What: the classes of data of one event


def _tied_to(event_ids):
    """Accounts that took part in one of the events: an elector, a nomination or an SMS code there."""
    return or_(
        exists().where(Elector.user_id == User.id, Elector.event_id.in_(event_ids)),
        exists().where(Nomination.nominator_id == User.id, Nomination.event_id.in_(event_ids)),
        exists().where(SmsChallenge.user_id == User.id, SmsChallenge.event_id.in_(event_ids)),
    )


def _accounts_to_clear(event_id, kept_event_ids):
    conditions = [
        User.role == Role.RESIDENT,
        User.is_enabled.is_(False),
        User.email.not_like(f"%@{ERASED_DOMAIN}"),
        _tied_to([event_id]),
    ]
    if kept_event_ids:
        conditions.append(~_tied_to(kept_event_ids))
    return select(User.id).where(*conditions).order_by(User.id)


def _nominations_to_clear(event_id):
    has_data = or_(
        Nomination.nominee_name.is_not(None), Nomination.nominee_affiliation.is_not(None),
        Nomination.consent_given_at.is_not(None), Nomination.consent_version.is_not(None),
        Nomination.consent_method.is_not(None),
        exists().where(NominationPhoto.nomination_id == Nomination.id),
    )
    person_categories = select(Category.id).where(Category.event_id == event_id, Category.kind == CategoryKind.PERSON)
    return select(Nomination.id).where(
        Nomination.event_id == event_id, Nomination.category_id.in_(person_categories),
        Nomination.state != NominationState.FINALIST, has_data,
    ).order_by(Nomination.id)


def _electors_of(event_id):
    return select(Elector.id).where(Elector.event_id == event_id)


def _with_phone(event_id):
    return (Elector.event_id == event_id, or_(Elector.phone_hmac.is_not(None), Elector.phone_last4.is_not(None)))


def _count(table, *where):
    return db.session.scalar(select(func.count()).select_from(table).where(*where))


def _rows(statement):
    return db.session.execute(statement).rowcount


def count_event(event_id, kept_event_ids):
    """{class: how many records would be destroyed} for one event; reads only."""
    return {
        "resident_accounts": len(db.session.scalars(_accounts_to_clear(event_id, kept_event_ids)).all()),
        "sms_challenges": _count(SmsChallenge.__table__, SmsChallenge.event_id == event_id),
        "personal_links": _count(PersonalLink.__table__, PersonalLink.elector_id.in_(_electors_of(event_id))),
        "link_dispatches": _count(LinkDispatch.__table__, LinkDispatch.event_id == event_id),
        "elector_phones": _count(Elector.__table__, *_with_phone(event_id)),
        "roll_entries": _count(RollEntry.__table__, RollEntry.event_id == event_id),
        "nominee_data": len(db.session.scalars(_nominations_to_clear(event_id)).all()),
    }


def _clear_accounts(event_id, kept_event_ids):
    users = db.session.scalars(select(User).where(User.id.in_(_accounts_to_clear(event_id, kept_event_ids)))).all()
    for user in users:
        user.email = f"user-{user.id}@{ERASED_DOMAIN}"
        user.name = ""
        user.department = None
        user.locale = None
        user.password_hash = None
        user.email_verified_at = None
        user.end_sessions()
    db.session.flush()
    return len(users)


def _clear_nominees(event_id):
    ids = db.session.scalars(_nominations_to_clear(event_id)).all()
    if not ids:
        return 0
    db.session.execute(delete(NominationPhoto.__table__).where(NominationPhoto.nomination_id.in_(ids)))
    db.session.execute(
        update(Nomination.__table__).where(Nomination.id.in_(ids)).values(
            nominee_name=None, nominee_affiliation=None, consent_given_at=None, consent_version=None,
            consent_method=None,
        )
    )
    return len(ids)


def destroy_event(event_id, kept_event_ids):
    """Destroys the personal data of one event; returns {class: how many records}. In DATA_CLASSES order."""
    destroyed = {"resident_accounts": _clear_accounts(event_id, kept_event_ids)}
    destroyed["sms_challenges"] = _rows(delete(SmsChallenge.__table__).where(SmsChallenge.event_id == event_id))
    destroyed["personal_links"] = _rows(
        delete(PersonalLink.__table__).where(PersonalLink.elector_id.in_(_electors_of(event_id))))
    destroyed["link_dispatches"] = _rows(delete(LinkDispatch.__table__).where(LinkDispatch.event_id == event_id))
    destroyed["elector_phones"] = _rows(
        update(Elector.__table__).where(*_with_phone(event_id)).values(phone_hmac=None, phone_last4=None))
    destroyed["roll_entries"] = _rows(delete(RollEntry.__table__).where(RollEntry.event_id == event_id))
    destroyed["nominee_data"] = _clear_nominees(event_id)
    return destroyed


# ---------------------------------------------------------------------------
# The plan (dry run) and the destruction


@dataclass
class EventPurge:
    """One due event and how many records of each class it has (or had) to destroy."""

    retention: Retention
    counts: dict = field(default_factory=dict)

    @property
    def total(self):
        return sum(self.counts.values())


def rule_text(retention):
    """The rule a destruction followed, in the default language: the ledger is one document."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return _(
            "Kept %(months)d months after the results were published on %(published)s, until %(until)s.",
            months=retention.months, published=retention.published_on.isoformat(),
            until=retention.kept_until.isoformat(),
        )


def _split(today):
    every = retentions()
    due = [r for r in every if r.is_due(today)]
    kept = [r.event_id for r in every if not r.is_due(today)]
    return every, due, kept


def plan(today):
    """What a purge would destroy today: one EventPurge per due event. Reads only."""
    _every, due, kept = _split(today)
    return [EventPurge(retention, count_event(retention.event_id, kept)) for retention in due]


def purge(today, destroyed_by):
    """Destroys the personal data of every event due ``today`` and writes the ledger; returns the EventPurges.

    The due events' rows are locked first (in id order), so two purges at once run one after
    the other and the second finds nothing left.
    """
    begin_write(db.session)
    _every, due, _kept = _split(today)
    if due:
        db.session.execute(
            select(Event.id).where(Event.id.in_([r.event_id for r in due])).order_by(Event.id).with_for_update()
        ).all()
        _every, due, kept = _split(today)  # read again under the lock
    done = []
    destroyed_at = utcnow().replace(microsecond=0)
    for retention in due:
        counts = destroy_event(retention.event_id, kept)
        rule = rule_text(retention)
        for key in DATA_CLASSES:
            if counts[key]:
                db.session.add(DestructionRecord(
                    event_id=retention.event_id, event_name=retention.event_name, data_class=key,
                    count=counts[key], rule=rule, destroyed_at=destroyed_at, destroyed_by=destroyed_by[:100],
                ))
        done.append(EventPurge(retention, counts))
    db.session.flush()
    return done


def organizer_signature(user):
    """How the ledger names an organizer who ran the purge from the web."""
    return f"{user.name} <{user.email}>"


def ledger():
    """Every line of the destruction ledger, newest first."""
    return db.session.scalars(
        select(DestructionRecord).order_by(DestructionRecord.destroyed_at.desc(), DestructionRecord.id)
    ).all()


LEDGER_COLUMNS = (
    _l("No."), _l("Event"), _l("Personal data destroyed"), _l("Records"), _l("Destroyed at (Seoul time)"),
    _l("Rule"), _l("Destroyed by"),
)


def ledger_csv(records):
    """The ledger as CSV in UTF-8 with a BOM (Excel shows Korean), in the default language (Korean):
    it is the one record the office keeps, whoever downloads it. Typed texts go through inert()."""
    from voting.results.bundle import inert

    out = io.StringIO()
    writer = csv.writer(out)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        writer.writerow([str(column) for column in LEDGER_COLUMNS])
        for record in records:
            writer.writerow([
                record.id, inert(record.event_name), str(data_class_label(record.data_class)), record.count,
                to_seoul(record.destroyed_at).strftime("%Y-%m-%d %H:%M:%S"), inert(record.rule),
                inert(record.destroyed_by),
            ])
    return out.getvalue().encode("utf-8-sig")


# ---------------------------------------------------------------------------
# flask --app wsgi voting purge


def _echo_plan(purges, others):
    for item in purges:
        retention = item.retention
        click.echo(f"event {retention.event_id} {retention.event_name}: results published {retention.published_on}, "
                   f"kept until {retention.kept_until}")
        for key in DATA_CLASSES:
            click.echo(f"  {key:<18} {item.counts[key]:>6}  {data_class_label(key)}")
        click.echo(f"  {'total':<18} {item.total:>6}")
    for retention in others:
        until = f"kept until {retention.kept_until}" if retention.kept_until else "results not published: kept"
        click.echo(f"event {retention.event_id} {retention.event_name}: not due ({until})")


@click.command("purge")
@click.option("--apply", "apply_", is_flag=True,
              help="Destroy the data and write the destruction record (파기 대장). Without it: a dry run.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Take this date (YYYY-MM-DD, Seoul) as today: for tests, or to look ahead.")
@with_appcontext
def purge_command(apply_, today):
    """Destroys the personal data of events whose retention has ended (a dry run unless --apply)."""
    today = today.date() if today is not None else seoul_today()
    with force_locale("en"):
        every = retentions()
        others = [r for r in every if not r.is_due(today)]
        if apply_:
            purges = purge(today, CLI)
            db.session.commit()
            written = sum(1 for item in purges for key in DATA_CLASSES if item.counts[key])
            click.echo(f"destroyed as of {today}: {sum(p.total for p in purges)} records of "
                       f"{len(purges)} due events; {written} lines written to the destruction record")
        else:
            purges = plan(today)
            db.session.rollback()
            click.echo(f"dry run as of {today}: nothing is destroyed (add --apply to destroy)")
        if not purges:
            click.echo("no event is due")
        _echo_plan(purges, others)
