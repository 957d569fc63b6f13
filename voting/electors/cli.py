"""Command-line tools of the electors area, added to ``flask --app wsgi voting``."""
import click
from flask.cli import AppGroup

from voting.electors.purge import purge_command

roll_cli = AppGroup("roll", help="The roll (명부) of an event.")
COMMANDS = [roll_cli, purge_command]

LANGUAGES = click.Choice(["ko", "en"])


def _event_or_fail(event_id):
    from voting.events.models import Event
    from voting.extensions import db

    event = db.session.get(Event, event_id)
    if event is None:
        raise click.ClickException(f"no event {event_id}")
    return event


@roll_cli.command("import")
@click.argument("event_id", type=int)
@click.argument("file", type=click.File("rb"))
@click.option("--lang", type=LANGUAGES, default="ko", show_default=True, help="Language of the reasons given per line.")
def import_roll(event_id, file, lang):
    """Imports a roll CSV file (FILE, '-' for standard input) into the event EVENT_ID.

    The header names the columns, in any order: name,birth_date,phone,district,dong,group
    (or 이름,생년월일,휴대폰,구,동,구분), optionally email (이메일). UTF-8 or CP949, at most
    2 MB. People already on the roll are updated by their mobile number.

    Prints the counts, then one line per refused row ("line N: reason"). The good rows
    are saved even when some are refused; the exit code is then 1 (0 when every row was
    taken, 1 with nothing saved when the file or the event is refused as a whole).
    """
    from flask_babel import force_locale

    from voting.electors.roll import ROLL_MAX_BYTES, import_roll as run_import
    from voting.events.operations import EventLocked, NotAllowed
    from voting.extensions import db

    event = _event_or_fail(event_id)
    raw = file.read(ROLL_MAX_BYTES + 1)
    with force_locale(lang):
        try:
            report = run_import(event, raw)
        except EventLocked as exc:
            db.session.rollback()
            raise click.ClickException(f"the results of event {event_id} are frozen: its roll can no longer change") from exc
        except NotAllowed as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from exc
        db.session.commit()
        click.echo(f"event {event_id} roll: {report.added} added, {report.updated} updated, "
                   f"{report.unchanged} unchanged, {report.refused} refused")
        for line, message in report.errors:
            click.echo(f"line {line}: {message}")
    if report.errors:
        raise SystemExit(1)


@roll_cli.command("list")
@click.argument("event_id", type=int)
def list_roll(event_id):
    """Lists the roll of the event EVENT_ID, one entry a line, by name.

    Tab-separated: id, name, birth date, last four digits of the mobile number, district,
    dong, group (resident or official), claimed (yes when an account has claimed the entry).
    A full number is never shown: the database does not hold one.
    """
    from sqlalchemy import select

    from voting.electors.models import Elector, RollEntry
    from voting.extensions import db

    event = _event_or_fail(event_id)
    rows = db.session.execute(
        select(RollEntry.id, RollEntry.name, RollEntry.birth_date, RollEntry.phone_last4, RollEntry.district,
               RollEntry.dong, RollEntry.group, Elector.user_id)
        .outerjoin(Elector, Elector.roll_entry_id == RollEntry.id)
        .where(RollEntry.event_id == event.id)
        .order_by(RollEntry.name, RollEntry.id)
        .execution_options(yield_per=1000)
    )
    for entry_id, name, birth_date, last4, district, dong, group, user_id in rows:
        cells = [str(entry_id), name, birth_date.isoformat(), last4, district, dong, group.value,
                 "yes" if user_id is not None else "no"]
        click.echo("\t".join(cell.replace("\t", " ") for cell in cells))
