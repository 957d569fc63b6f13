"""Public pages: the home page, an event's page, its gallery of finalists, and the archive."""
from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from sqlalchemy import select

from voting.events.models import Event, EventState
from voting.exports.awards import category_awards
from voting.extensions import db
from voting.nominations import operations

bp = Blueprint("public", __name__)


@bp.route("/")
def home():
    return render_template("public/home.html", events=operations.public_events())


@bp.route("/events/<int:event_id>")
def event(event_id):
    event = db.get_or_404(Event, event_id)
    if not event.can_view(current_user):
        abort(404)
    return render_template("public/event.html", event=event)


@bp.route("/events/<int:event_id>/finalists")
def gallery(event_id):
    event = db.get_or_404(Event, event_id)
    if not event.can_view(current_user):
        abort(404)
    category_id = request.args.get("category", type=int)
    field_id = request.args.get("field", type=int)
    finalists = operations.finalists(event, category_id, field_id)
    return render_template(
        "public/gallery.html", event=event, finalists=finalists, category_id=category_id, field_id=field_id
    )


@bp.route("/archive")
def archive():
    """Past events with their published results, newest first (the district's 협치 아카이빙)."""
    from voting.results.bundle import frozen_results

    published = db.session.scalars(
        select(Event).where(Event.state == EventState.PUBLISHED).order_by(Event.year.desc(), Event.id.desc())
    )
    entries = []
    for event in published:
        frozen = frozen_results(event.id)
        if frozen is not None:
            entries.append((event, frozen, [(results, category_awards(results)) for results in frozen.categories]))
    entries.sort(key=lambda entry: (entry[0].year, entry[1].published_at or entry[1].frozen_at), reverse=True)
    return render_template("public/archive.html", entries=entries)
