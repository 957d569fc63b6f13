"""A sealed event for tests: trustees named and the key ceremony held unattended; returns the shares."""
from voting.events.models import Event
from voting.extensions import db
from voting.sealing import ceremony
from voting.sealing import operations as sealing

from tests import factories


def seal_event(app, event_id, trustees=3, threshold=2):
    """Turns sealing on for the event, names trustees (residents and one official), holds the
    ceremony; returns the shares, in the trustees' order."""
    with app.app_context():
        event = db.session.get(Event, event_id)
        organizer = factories.user("organizer")
        event.sealed = True
        db.session.flush()
        people = [factories.user("official")] + [factories.user("resident") for _i in range(trustees - 1)]
        sealing.set_trustees(event, [p.id for p in people], threshold, organizer)
        shares = ceremony.ceremony_without_trustees(event, organizer)
        db.session.commit()
        return shares
