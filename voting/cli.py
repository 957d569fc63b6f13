"""Command-line tools: ``flask --app wsgi voting <command>``."""
import click
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
    type=click.Choice(["nominating", "voting", "judging"]),
    default="nominating",
    show_default=True,
    help="Which window is open today.",
)
@click.option("--if-empty", is_flag=True, help="Only build it when the database has no event yet.")
def demo(phase, if_empty):
    """Builds a demo event from the source documents, with an account for every role."""
    from voting.accounts.models import User
    from voting.demo import DEMO_ACCOUNTS, build_demo
    from voting.events.models import Event

    if if_empty and db.session.scalar(select(Event.id).limit(1)) is not None:
        click.echo("the database has events already; no demo data added")
    else:
        event = build_demo(phase)
        db.session.commit()
        click.echo(f"demo event {event.id}: {event.name} ({phase} open now)")
    emails = [email for _role, email, _password in DEMO_ACCOUNTS]
    existing = set(db.session.scalars(select(User.email).where(User.email.in_(emails))))
    accounts = [account for account in DEMO_ACCOUNTS if account[1] in existing]
    if not accounts:
        click.echo("no demo accounts exist in this database")
        return
    click.echo("demo accounts (role, email, password):")
    for role, email, password in accounts:
        click.echo(f"  {role:<10} {email:<32} {password}")


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
