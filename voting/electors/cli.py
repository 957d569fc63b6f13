"""Command-line tools of the electors area, added to ``flask --app wsgi voting``."""
import click
from flask.cli import AppGroup

roll_cli = AppGroup("roll", help="The roll (명부) of an event.")
COMMANDS = [roll_cli]
