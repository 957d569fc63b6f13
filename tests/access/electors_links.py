"""Access rows of the personal links: the organizers' pages that send them, and the link's own pages.

The link is the permission of its pages: anyone holding it may open it, so those rows are
allowed for every role; the ballot pages need a browser whose session holds an opened link
(``with_opened_link``). Organizer pages are for organizers only.
"""
from datetime import timedelta

from tests import elector_factories, factories
from tests.access.table import EVERYONE, ORGANIZER, ORGANIZERS, RESIDENT, Route, no_data
from voting.database import utcnow
from voting.electors import links
from voting.electors.link_routes import LINK_SESSION_KEY
from voting.electors.models import DeliveryState, LinkChannel, LinkDispatch, PersonalLink
from voting.extensions import db


def with_opened_link(web, w):
    """A browser that opened its personal link: the session holds event, elector and link."""
    with web.client.session_transaction() as session:
        session[LINK_SESSION_KEY] = dict(w.links_session)


def manage(w, rest=""):
    return f"/manage/events/{w.links_event}/links{rest}"


def link_ballot(w, rest=""):
    return f"/vote/link/events/{w.links_event}/categories/{w.links_category}{rest}"


ROUTES = [
    # Organizers
    Route("links.index", "GET", lambda w: manage(w), ORGANIZERS),
    Route("links.send", "POST", lambda w: manage(w, "/send"), ORGANIZERS,
          data=lambda w: {"channel": "sms", "scope": "selected", "entry_ids": [str(w.links_unsent_entry)]},
          changes=ORGANIZERS),
    Route("links.dispatch", "GET", lambda w: manage(w, f"/dispatches/{w.links_dispatch}"), ORGANIZERS),
    Route("links.dispatch_status", "GET", lambda w: manage(w, f"/dispatches/{w.links_dispatch}/status.json"),
          ORGANIZERS),
    Route("links.resume", "POST", lambda w: manage(w, f"/dispatches/{w.links_stalled_dispatch}/resume"), ORGANIZERS,
          data=no_data, changes=ORGANIZERS, note="a sending whose thread died"),
    Route("links.retry", "POST", lambda w: manage(w, f"/dispatches/{w.links_failed_dispatch}/retry"), ORGANIZERS,
          data=no_data, changes=ORGANIZERS, note="a sending with an undelivered link"),
    Route("links.revoke", "POST", lambda w: manage(w, f"/{w.links_revocable}/revoke"), ORGANIZERS,
          data=no_data, changes=ORGANIZERS),
    Route("links.resend", "POST", lambda w: manage(w, f"/entries/{w.links_unsent_entry}/resend"), ORGANIZERS,
          data=lambda w: {"channel": "sms"}, changes=ORGANIZERS),
    # The link: the token is the permission
    Route("links.landing", "GET", lambda w: f"/vote/link/{w.links_token}", EVERYONE,
          note="the token is the permission; a GET uses nothing up"),
    Route("links.landing", "POST", lambda w: f"/vote/link/{w.links_token}", EVERYONE, data=no_data,
          changes=EVERYONE, note="the token is the permission"),
    Route("links.overview", "GET", lambda w: f"/vote/link/events/{w.links_event}", EVERYONE,
          setup=with_opened_link, note="the opened link is the permission"),
    Route("links.vote", "GET", lambda w: link_ballot(w), EVERYONE, setup=with_opened_link,
          note="the opened link is the permission"),
    Route("links.vote", "POST", lambda w: link_ballot(w), EVERYONE, setup=with_opened_link,
          data=lambda w: {"approvals": [str(w.links_finalist)]}, note="shows the choice to confirm"),
    Route("links.cast", "POST", lambda w: link_ballot(w, "/cast"), EVERYONE, setup=with_opened_link,
          data=lambda w: {"approvals": [str(w.links_finalist)], "action": "cast"}, changes=EVERYONE,
          note="the opened link is the permission"),
]


def _link(elector_id, dispatch, state, expires_at, **values):
    link = PersonalLink(elector_id=elector_id, dispatch_id=dispatch.id, channel=LinkChannel.SMS,
                        state=state, expires_at=expires_at, **values)
    db.session.add(link)
    return link


def extend_world(world, users):
    """A roll-mode event in its voting window, a finalist, and a roll whose people have links in
    every state a row needs: unopened (its token in the world), opened, failed, pending."""
    event = factories.event(phase="voting", eligibility="roll")
    finalist = factories.nomination(event.id, nominator_id=users[RESIDENT].id, state="finalist", title="링크 후보")
    people = [elector_factories.roll_entry(event.id, f"링크 {i}", f"010-7400-000{i}", email=f"link{i}@access.example")
              for i in range(6)]
    now, closes = utcnow(), event.vote_closes_at
    delivered, failed, stalled = (LinkDispatch(event_id=event.id, channel=LinkChannel.SMS,
                                               created_by_id=users[ORGANIZER].id) for _n in range(3))
    db.session.add_all([delivered, failed, stalled])
    db.session.flush()
    token = links.new_token()
    _link(people[0][1].id, delivered, DeliveryState.SENT, closes, token_hash=links.token_hash(token), attempts=1,
          sent_at=now)
    opened = _link(people[1][1].id, delivered, DeliveryState.SENT, closes,
                   token_hash=links.token_hash(links.new_token()), attempts=1, sent_at=now - timedelta(minutes=5),
                   opened_at=now)
    revocable = _link(people[2][1].id, delivered, DeliveryState.SENT, closes,
                      token_hash=links.token_hash(links.new_token()), attempts=1, sent_at=now)
    _link(people[3][1].id, failed, DeliveryState.FAILED, closes, attempts=1, last_error="the gateway answered 500")
    _link(people[4][1].id, stalled, DeliveryState.PENDING, closes)
    db.session.flush()
    world.links_event = event.id
    world.links_category = event.categories[0].id
    world.links_finalist = finalist.id
    world.links_token = token
    world.links_session = {"event_id": event.id, "elector_id": people[1][1].id, "link_id": opened.id}
    world.links_revocable = revocable.id
    world.links_unsent_entry = people[5][0].id
    world.links_dispatch = delivered.id
    world.links_failed_dispatch = failed.id
    world.links_stalled_dispatch = stalled.id
