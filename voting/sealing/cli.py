"""`flask --app wsgi voting open-box EVENT --shares-file FILE`: the opening (개함) from a file."""
import click
from flask.cli import with_appcontext
from flask_babel import force_locale

from voting.events.models import Event
from voting.events.operations import EventLocked, NotAllowed
from voting.extensions import db
from voting.sealing import mail
from voting.sealing import operations as sealing


def read_shares(text):
    """The shares in a file: one a line; blank lines and lines starting with # are left out."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@click.command("open-box")
@click.argument("event_id", type=int)
@click.option("--shares-file", type=click.File("r", encoding="utf-8"), required=True,
              help="Trustees' shares, one a line (# starts a comment); the threshold's number of them is enough.")
@with_appcontext
def open_box(event_id, shares_file):
    """Opens an event's sealed ballot box with its trustees' shares, as the opening form does."""
    event = db.session.get(Event, event_id)
    if event is None:
        raise click.ClickException(f"no event {event_id}")
    shares = read_shares(shares_file.read())
    with force_locale("en"):
        try:
            opened = sealing.open_box(event, shares)
        except (NotAllowed, EventLocked) as exc:
            db.session.rollback()
            raise click.ClickException(getattr(exc, "message", "the results of this event are frozen")) from exc
    db.session.commit()
    sealing.compact_storage()
    box = sealing.box_of(event)
    mail.box_opened(event, box, opened)
    click.echo(f"event {event_id} box opened: {opened.ballots} ballots, commitment {opened.commitment}, "
               f"plain sha256 {opened.plain_sha256}")


COMMANDS = [open_box]
