"""Running an operation from a route: one commit on success, a clear reason on refusal."""
from flask import flash
from flask_babel import gettext as _

from voting.events.operations import EventLocked, NotAllowed
from voting.extensions import db

REFUSED = object()


def attempt(action, done_message=None, *, field=None):
    """Runs ``action``; commits and returns its result, or REFUSED after a rollback.

    The reason for a refusal goes next to ``field`` when one is given, else into a flash.
    """
    try:
        result = action()
    except EventLocked:
        db.session.rollback()
        flash(_("The results of this event are frozen; this can no longer change."), "error")
        return REFUSED
    except NotAllowed as exc:
        db.session.rollback()
        if field is not None:
            field.errors = list(field.errors) + [exc.message]
        else:
            flash(exc.message, "error")
        return REFUSED
    db.session.commit()
    if done_message:
        flash(done_message, "success")
    return result
