"""Public pages: the home page, an event's page and its gallery of finalists."""
from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from voting.events.models import Event
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
