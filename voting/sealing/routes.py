"""The ballot box pages: its state for organizers and trustees, its setup, the ceremony, the opening."""
from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from voting.events.models import Event
from voting.extensions import db
from voting.sealing import operations as sealing

bp = Blueprint("sealing", __name__)


@bp.route("/events/<int:event_id>/box")
@login_required
def box(event_id):
    event = db.get_or_404(Event, event_id)
    box = sealing.box_of(event)
    trustee = box is not None and any(t.user_id == current_user.id for t in box.trustees)
    if not (current_user.is_organizer or trustee):
        abort(403)
    return render_template("sealing/box.html", event=event, box=box)
