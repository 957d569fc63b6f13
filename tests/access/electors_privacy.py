"""Access rows of the personal-data lifecycle: the destruction ledger (파기 대장), organizers only."""
from datetime import timedelta

from sqlalchemy import select

from tests import elector_factories, factories
from tests.access.table import ANONYMOUS, EVERYONE, NOBODY, ORGANIZERS, RESIDENT, STAFF, Route, confirmed  # noqa: F401
from voting.database import utcnow
from voting.extensions import db
from voting.results import operations as results_operations
from voting.results.models import ResultSnapshot

ROUTES = [
    Route("privacy.ledger", "GET", lambda w: "/manage/privacy", ORGANIZERS),
    Route("privacy.ledger_csv", "GET", lambda w: "/manage/privacy/ledger.csv", ORGANIZERS),
    Route("privacy.purge", "POST", lambda w: "/manage/privacy/purge", ORGANIZERS, data=confirmed, changes=ORGANIZERS,
          note="an event published three years ago with a roll entry is due"),
]


def extend_world(world, users):
    """An event whose results were published three years ago, kept one month: its roll is due."""
    organizer = users["organizer"]
    event = factories.event(state="closed", name="파기 대상 행사")
    event.retention_months = 1
    results_operations.freeze_results(event, organizer)
    results_operations.publish_results(event, organizer)
    snapshot = db.session.scalar(select(ResultSnapshot).where(ResultSnapshot.event_id == event.id))
    snapshot.published_at = utcnow() - timedelta(days=3 * 365)
    elector_factories.roll_entry(event.id, "김명부", "010-9876-5432")
    db.session.flush()
    world.purge_event = event.id
