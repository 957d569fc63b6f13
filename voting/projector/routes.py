"""Projector screens for the award day: on-site voting for a category, and the award reveal.

Both are full-screen pages for the organizers' laptop on the venue's projector: one page
load, then only a small JSON poll (the voting screen) or nothing at all (the reveal), because
the venue's Wi-Fi is weak.
"""
from flask import Blueprint, render_template

from voting.accounts.models import Role
from voting.events.models import Category, Event
from voting.extensions import db
from voting.projector import reveal, screen
from voting.results.bundle import frozen_results
from voting.responses import live_json
from voting.security import roles_required

bp = Blueprint("projector", __name__, url_prefix="/manage")
organizer_only = roles_required(Role.ORGANIZER)

POLL_SECONDS = 2.5


@bp.route("/categories/<int:category_id>/screen")
@organizer_only
def voting_screen(category_id):
    category = db.get_or_404(Category, category_id)
    cards = screen.cards(category)
    status = screen.status(category)
    return render_template(
        "projector/voting.html",
        event=category.event,
        category=category,
        cards=cards,
        density=screen.density(len(cards)),
        photos=screen.shows_photos(len(cards)),
        status=status,
        payload=status.as_json(),
        clock=screen.clock,
        seoul_time=screen.seoul_time,
        join=screen.join_link(category.event),
        poll_ms=int(POLL_SECONDS * 1000),
    )


@bp.route("/categories/<int:category_id>/screen/status.json")
@organizer_only
def voting_status(category_id):
    category = db.get_or_404(Category, category_id)
    return live_json(screen.status(category).as_json())


@bp.route("/events/<int:event_id>/reveal")
@organizer_only
def award_reveal(event_id):
    event = db.get_or_404(Event, event_id)
    frozen = frozen_results(event.id)
    if frozen is None:
        return render_template("projector/not_frozen.html", event=event), 404
    return render_template(
        "projector/reveal.html",
        event=event,
        slides=reveal.slides(frozen),
        awardee_density=reveal.awardee_density,
    )
