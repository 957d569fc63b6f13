"""Access rows of the ballot box: its page is for organizers and the event's trustees."""
from voting.sealing import operations as sealing

from tests import factories
from tests.access.table import ORGANIZER, RESIDENT, Route

ROUTES = [
    Route("sealing.box", "GET", lambda w: f"/events/{w.box_event}/box", frozenset({ORGANIZER, RESIDENT}),
          note="the world's resident is one of the sealed event's trustees; the official is not"),
]


def extend_world(world, users):
    event = factories.event(name="봉인 투표함 행사", sealed=True)
    trustees = [users["resident"].id, factories.user("official").id]
    sealing.set_trustees(event, trustees, 2, users["organizer"])
    world.box_event = event.id
