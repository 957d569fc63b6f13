"""Mails to an event's trustees: the commitment at closing, the plain hash at opening.

Each trustee keeps them beside their share, so that a box changed behind the app's back
shows against hashes held outside it.
"""
from flask import has_request_context, url_for
from flask_babel import lazy_gettext as _l

from voting.mail import recipient_locale, send_mail


def _to_trustees(event, box, subject, template, **context):
    for trustee in box.trustees:
        send_mail(trustee.user.email, subject, template, locale=recipient_locale(trustee.user), background=True,
                  user=trustee.user, event=event, box=box, **context)


def _box_link(event):
    """The box page, from a request only: a command has no address to give (PUBLIC_BASE_URL comes later)."""
    return url_for("sealing.box", event_id=event.id, _external=True) if has_request_context() else None


def commitment_made(event, box):
    _to_trustees(event, box, _l("Ballot box closed: %(event)s", event=event.name), "box_closed",
                 link=_box_link(event))


def box_opened(event, box, opened):
    _to_trustees(event, box, _l("Ballot box opened: %(event)s", event=event.name), "box_opened",
                 opened=opened, link=_box_link(event))
