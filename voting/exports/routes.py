"""Downloads of an event's frozen results in every format, and all of them as one zip.

Organizers only: the public gets the bundle and the CSV from the published results page.
Files are in the organizer's current language."""
from flask import Blueprint, Response, abort, flash, redirect, url_for
from flask_babel import gettext as _

from voting.accounts.models import Role
from voting.events.models import Event
from voting.exports import operations
from voting.extensions import db
from voting.security import roles_required

bp = Blueprint("exports", __name__, url_prefix="/manage")
organizer_only = roles_required(Role.ORGANIZER)


def _download(made):
    return Response(
        made.data,
        mimetype=made.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{made.filename}"', "Cache-Control": "no-store"},
    )


def _not_frozen(event):
    flash(_("Exports exist once the results are frozen."), "error")
    return redirect(url_for("results.preview", event_id=event.id))


@bp.route("/events/<int:event_id>/exports/<fmt>")
@organizer_only
def download(event_id, fmt):
    event = db.get_or_404(Event, event_id)
    if fmt not in operations.FORMATS:
        abort(404)
    try:
        return _download(operations.export_file(event, fmt))
    except operations.NotFrozen:
        return _not_frozen(event)


@bp.route("/events/<int:event_id>/exports.zip")
@organizer_only
def download_all(event_id):
    event = db.get_or_404(Event, event_id)
    try:
        return _download(operations.all_exports(event))
    except operations.NotFrozen:
        return _not_frozen(event)
