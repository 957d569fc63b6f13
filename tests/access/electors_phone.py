"""Access rows of the resident's elector steps: the phone confirmation and the roll claim.

Residents only; officials (electors by their invited account), judges, staff and organizers get
403, anonymous visitors are sent to log in. A draft event's pages are 404 for the resident.
"""
from datetime import date

from tests import elector_factories, factories
from tests.access.table import ANONYMOUS, EVERYONE, NOBODY, ORGANIZERS, RESIDENT, STAFF, Route  # noqa: F401

RESIDENTS = frozenset({RESIDENT})
ROLL_NAME, ROLL_BIRTH, ROLL_PHONE = "접근 시험", date(1955, 5, 5), "010-7001-7002"


def send_phone(_w):
    return {"action": "send", "phone": "010-7000-0001"}


def send_claim(_w):
    return {"action": "send", "name": ROLL_NAME, "birth_date": ROLL_BIRTH.isoformat(), "phone": ROLL_PHONE}


ROUTES = [
    Route("electors.phone", "GET", lambda w: f"/events/{w.phone_step_event}/phone", RESIDENTS),
    Route("electors.phone", "GET", lambda w: f"/events/{w.draft_event}/phone", NOBODY,
          hidden=RESIDENTS, note="draft event"),
    Route("electors.phone", "POST", lambda w: f"/events/{w.phone_step_event}/phone", RESIDENTS,
          data=send_phone, changes=RESIDENTS, note="sends a code: the challenge is saved"),
    Route("electors.claim", "GET", lambda w: f"/events/{w.claim_step_event}/claim", RESIDENTS),
    Route("electors.claim", "GET", lambda w: f"/events/{w.draft_event}/claim", NOBODY,
          hidden=RESIDENTS, note="draft event"),
    Route("electors.claim", "POST", lambda w: f"/events/{w.claim_step_event}/claim", RESIDENTS,
          data=send_claim, changes=RESIDENTS, note="the details match an entry: a code is sent"),
]


def extend_world(world, users):
    phone_event = factories.event(phase="voting", eligibility="phone")
    roll_event = factories.event(phase="voting", eligibility="roll")
    elector_factories.roll_entry(roll_event.id, ROLL_NAME, ROLL_PHONE, birth_date=ROLL_BIRTH)
    world.phone_step_event = phone_event.id
    world.claim_step_event = roll_event.id
