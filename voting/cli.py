"""Command-line tools: ``flask --app wsgi voting <command>``."""
import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from voting.extensions import db

cli = AppGroup("voting", help="Voting site administration.")


@cli.command("create-organizer")
@click.option("--email", prompt=True, help="The organizer's email address.")
@click.option("--name", prompt=True, help="The organizer's name.")
@click.password_option(help="At least 10 characters; asked for when not given.")
def create_organizer(email, name, password):
    """Creates an organizer account (the first one is made this way)."""
    from email_validator import EmailNotValidError, validate_email

    from voting.accounts.forms import PASSWORD_MIN
    from voting.accounts.operations import EmailTaken, create_organizer as create

    email, name = email.strip(), name.strip()
    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise click.ClickException(f"invalid email address: {exc}") from exc
    if len(password) < PASSWORD_MIN:
        raise click.ClickException(f"the password needs at least {PASSWORD_MIN} characters")
    if not name:
        raise click.ClickException("the name is empty")
    try:
        user = create(name, email, password)
    except EmailTaken as exc:
        raise click.ClickException(f"{email} already has an account") from exc
    db.session.commit()
    click.echo(f"organizer {user.id} {user.email} created")


@cli.command("events")
def list_events():
    """Lists events, one a line, id first."""
    from voting.events.models import Event

    for event in db.session.scalars(select(Event).order_by(Event.id)):
        click.echo(f"{event.id}\t{event.year}\t{event.state.value}\t{event.name}")


@cli.command("demo")
@click.option(
    "--phase",
    type=click.Choice(["nominating", "voting", "judging", "results"]),
    default=None,
    help="Which window is open today (default: nominating; with --ballots: results, every window closed).",
)
@click.option("--if-empty", is_flag=True, help="Only build it when the database has no event yet.")
@click.option("--ballots", type=click.IntRange(min=1, max=100000), help="Also cast this many simulated ballots per category, and fill judge sheets.")
@click.option("--seed", default="2019", show_default=True, help="Seed of the simulated ballots and scores.")
def demo(phase, if_empty, ballots, seed):
    """Builds a demo event from the source documents, with an account for every role."""
    from voting.accounts.models import User
    from voting.demo import DEMO_ACCOUNTS, build_demo, demo_event, seal_demo_box
    from voting.events.models import Event
    from voting.events.operations import NotAllowed

    phase = phase or ("results" if ballots else "nominating")
    if if_empty and db.session.scalar(select(Event.id).limit(1)) is not None:
        click.echo("the database has events already; no demo data added")
    else:
        event = build_demo(phase)
        db.session.commit()
        click.echo(f"demo event {event.id}: {event.name} ({phase})")
        organizer = db.session.scalar(select(User).where(User.email == DEMO_ACCOUNTS[0][1]))
        shares_path = seal_demo_box(event, organizer, current_app.instance_path)
        db.session.commit()
        if shares_path:
            click.echo(f"its ballots are sealed; the demo trustees' shares are in {shares_path} "
                       f"(open the box with: flask --app wsgi voting open-box {event.id} --shares-file {shares_path})")
        if ballots:
            from voting.events.models import EventState
            from voting.sealing.operations import move_event
            from voting.simulation import simulate

            try:
                simulate(event, ballots, seed, organizer)
                if event.sealed and event.state == EventState.OPEN:
                    move_event(event, EventState.CLOSED, organizer)  # voting is over: the box is committed
            except NotAllowed as exc:
                db.session.rollback()
                raise click.ClickException(exc.message) from exc
            db.session.commit()
            click.echo(f"{ballots} simulated ballots per category (seed {seed}) and judge sheets added")
            if event.sealed:
                click.echo(f"the event is closed and its box committed; open it with the shares file, then freeze")
    _print_demo_roll(demo_event())
    emails = [email for _role, email, _password in DEMO_ACCOUNTS]
    existing = set(db.session.scalars(select(User.email).where(User.email.in_(emails))))
    accounts = [account for account in DEMO_ACCOUNTS if account[1] in existing]
    if not accounts:
        click.echo("no demo accounts exist in this database")
        return
    click.echo("demo accounts (role, email, password):")
    for role, email, password in accounts:
        click.echo(f"  {role:<10} {email:<32} {password}")


def _print_demo_roll(event):
    """How the demo residents become electors: the phone (or roll) step, and the demo roll's numbers."""
    from voting.demo import ROLL
    from voting.electors.models import EligibilityMode, RollEntry

    if event is None or event.eligibility == EligibilityMode.OPEN:
        return
    on_roll = set(db.session.scalars(select(RollEntry.name).where(RollEntry.event_id == event.id)))
    step = "confirms a mobile phone at /events/{}/phone" if event.eligibility == EligibilityMode.PHONE \
        else "claims their roll entry at /events/{}/claim"
    click.echo(f"eligibility: {event.eligibility.value} mode: a resident {step.format(event.id)}; the SMS code is printed "
               "on the server's console (SMS_BACKEND=console, the development default). Staff check people in at /desk.")
    rows = [row for row in ROLL if row[1] in on_roll]
    if rows:
        click.echo("demo roll (name, date of birth, mobile):")
        for _email, name, born, mobile, _dong in rows:
            click.echo(f"  {name} {born.isoformat()} {mobile}")


@cli.command("verify-audit")
def verify_audit():
    """Checks the audit log's hash chain; names the first broken entry."""
    from voting.audit.operations import verify_chain

    checked, broken, reason = verify_chain()
    if broken is not None:
        click.echo(f"audit log BROKEN at entry {broken.id} ({broken.action}, {broken.created_at.isoformat()}): {reason}")
        click.echo(f"{checked} entries before it are intact")
        raise SystemExit(1)
    click.echo(f"audit log intact: {checked} entries")


def _event_or_fail(event_id):
    from voting.events.models import Event

    event = db.session.get(Event, event_id)
    if event is None:
        raise click.ClickException(f"no event {event_id}")
    return event


@cli.command("freeze")
@click.argument("event_id", type=int)
def freeze(event_id):
    """Freezes an event's results, as the button on the results page does."""
    from flask_babel import force_locale

    from voting.events.operations import EventLocked, NotAllowed
    from voting.results.operations import freeze_results

    event = _event_or_fail(event_id)
    with force_locale("en"):
        try:
            snapshot = freeze_results(event)
        except (NotAllowed, EventLocked) as exc:
            db.session.rollback()
            raise click.ClickException(getattr(exc, "message", "the results of this event are frozen already")) from exc
    db.session.commit()
    click.echo(f"event {event_id} frozen: sha256 {snapshot.sha256}")


@cli.command("export")
@click.argument("event_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "pdf", "certificates", "bundle", "zip"]),
              default="bundle", show_default=True,
              help="csv: results table (UTF-8 with BOM); xlsx: workbook; pdf: results report; "
                   "certificates: one page per award; bundle: transparency bundle (JSON); zip: all of them.")
@click.option("--out", type=click.File("wb"), required=True, help="The file to write ('-' for standard output).")
@click.option("--lang", type=click.Choice(["ko", "en"]), default="ko", show_default=True, help="Language of the texts.")
def export(event_id, fmt, out, lang):
    """Writes the frozen results of an event in one format (or all of them as a zip)."""
    from flask_babel import force_locale

    from voting.exports import operations

    event = _event_or_fail(event_id)
    with force_locale(lang):
        try:
            made = operations.all_exports(event) if fmt == "zip" else operations.export_file(event, fmt)
        except operations.NotFrozen as exc:
            raise click.ClickException(
                f"event {event_id} is not frozen: run `flask --app wsgi voting freeze {event_id}` first") from exc
    out.write(made.data)
    if fmt == "bundle":
        from voting.results.bundle import frozen_results

        click.echo(f"bundle sha256 {frozen_results(event_id).bundle_sha256}", err=True)


@cli.command("verify-bundle")
@click.argument("bundle_file", type=click.File("rb"))
def verify_bundle(bundle_file):
    """Recomputes every category of a transparency bundle and reports match or each mismatch."""
    from voting.results.verify import check_bundle, read_bundle

    try:
        document = read_bundle(bundle_file.read())
    except ValueError as exc:
        raise click.ClickException(f"{bundle_file.name}: {exc}") from exc
    check = check_bundle(document)
    for problem in check.problems:
        click.echo(f"MISMATCH bundle: {problem}")
    for category in check.categories:
        label = f"category {category.id} ({category.name})"
        if category.matches:
            click.echo(f"match {label}: {category.finalists} finalists recomputed")
        for line in category.mismatches:
            click.echo(f"MISMATCH {label}: {line}")
    if not check.matches:
        click.echo("the bundle does NOT recompute to its results")
        raise SystemExit(1)
    click.echo(f"the bundle recomputes to its results: {len(check.categories)} categories, sha256 {document['sha256']}")


def _add_area_commands():
    from voting.electors.cli import COMMANDS as ELECTOR_COMMANDS
    from voting.sealing.cli import COMMANDS as BOX_COMMANDS

    for command in ELECTOR_COMMANDS + BOX_COMMANDS:
        cli.add_command(command)


_add_area_commands()
