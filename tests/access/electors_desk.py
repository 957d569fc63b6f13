"""Access rows of the check-in desk (현장 접수): staff (행사 도우미) and organizers, nobody else.

A desk reaches an elector's page only through its own search or phone check in the same
browser session, and continues only its own phone check: the setups below put into the
session what that search or check would have put there, for the signed-in account.
"""
import secrets
from datetime import timedelta

from voting.database import utcnow
from voting.desk.routes import FOUND_KEY, WALK_IN_KEY
from voting.electors.models import SmsChallenge, SmsPurpose
from voting.identity import parse_phone, sms_code_hash

from tests import elector_factories, factories
from tests.access.table import (  # noqa: F401
    ANONYMOUS, EVERYONE, NOBODY, ORGANIZER, ORGANIZERS, RESIDENT, STAFF, Route,
)

DESK = frozenset({STAFF, ORGANIZER})
DESK_CARD = "DESK-2ACC-ESS"
DESK_SMS_CODE = "246810"


def _signed_in_user_id(web):
    with web.client.session_transaction() as session:
        raw = session.get("_user_id") or ""
    user_id = raw.partition(":")[0]
    return int(user_id) if user_id.isdigit() else None


def with_found_elector(web, w):
    """The desk of this session found the walk-in's elector (by a search or a phone check)."""
    with web.client.session_transaction() as session:
        session[FOUND_KEY] = [w.desk_elector]


def with_walk_in(web, w):
    """A phone check under way, started by the signed-in account (by the staff one for the others)."""
    challenge_id = w.desk_challenges.get(_signed_in_user_id(web), w.desk_challenges[STAFF])
    with web.client.session_transaction() as session:
        session[WALK_IN_KEY] = {"event_id": w.desk_event, "challenge_id": challenge_id}


ROUTES = [
    Route("desk.index", "GET", lambda w: "/desk", DESK),
    Route("desk.event_desk", "GET", lambda w: f"/desk/events/{w.desk_event}", DESK, note="phone mode"),
    Route("desk.event_desk", "GET", lambda w: f"/desk/events/{w.desk_roll_event}", DESK, note="roll mode"),
    Route("desk.event_desk", "GET", lambda w: f"/desk/events/{w.draft_event}", NOBODY, hidden=DESK,
          note="draft event"),
    Route("desk.search", "POST", lambda w: f"/desk/events/{w.desk_roll_event}/search", DESK,
          data=lambda w: {"name": "박접수", "last4": "4321"}, note="the roll by name and last four digits"),
    Route("desk.walk_in", "POST", lambda w: f"/desk/events/{w.desk_event}/walk-in", DESK,
          data=lambda w: {"phone": "010-7400-0003"}, changes=DESK, note="sends an SMS code"),
    Route("desk.walk_in_code", "GET", lambda w: f"/desk/events/{w.desk_event}/walk-in/code", DESK,
          setup=with_walk_in),
    Route("desk.walk_in_code", "POST", lambda w: f"/desk/events/{w.desk_event}/walk-in/code", DESK,
          data=lambda w: {"code": DESK_SMS_CODE}, changes=DESK, setup=with_walk_in,
          note="the right code: the phone becomes an elector"),
    Route("desk.elector", "GET", lambda w: f"/desk/events/{w.desk_event}/electors/{w.desk_elector}", DESK,
          setup=with_found_elector),
    Route("desk.bind_card", "POST", lambda w: f"/desk/events/{w.desk_event}/electors/{w.desk_elector}/cards", DESK,
          data=lambda w: {"code": DESK_CARD}, changes=DESK, setup=with_found_elector),
]


def _desk_challenge(event_id, user_id, phone):
    """An open SMS challenge of a desk phone check whose code is DESK_SMS_CODE."""
    number = parse_phone(phone)
    salt = secrets.token_hex(16)
    now = utcnow()
    return SmsChallenge(event_id=event_id, user_id=user_id, purpose=SmsPurpose.DESK, phone_hmac=number.digest,
                        phone_last4=number.last4, salt=salt, code_hash=sms_code_hash(salt, DESK_SMS_CODE),
                        created_at=now, expires_at=now + timedelta(hours=2))


def extend_world(world, users):
    """A phone-mode event in its voting window with a walk-in's elector, a printed card and a phone
    check under way for each desk account; a roll-mode event with one entry on its roll."""
    from voting.extensions import db

    event = factories.event(phase="voting", eligibility="phone")
    elector = elector_factories.phone_elector(event.id, "010-7400-0001")
    elector_factories.card(event.id, users[ORGANIZER].id, DESK_CARD)
    challenges = {role: _desk_challenge(event.id, users[role].id, "010-7400-0002") for role in (STAFF, ORGANIZER)}
    db.session.add_all(challenges.values())
    roll_event = factories.event(phase="voting", eligibility="roll")
    elector_factories.roll_entry(roll_event.id, "박접수", "010-7400-4321", dong="북가좌동")
    db.session.flush()
    world.desk_event = event.id
    world.desk_roll_event = roll_event.id
    world.desk_elector = elector.id
    world.desk_challenges = {STAFF: challenges[STAFF].id,
                             **{users[role].id: challenge.id for role, challenge in challenges.items()}}
