"""The day-of control panel: one organizer page for the whole award day.

Every button posts to the route that already does the work (on-site sessions, paper totals,
ties, closing, freezing, publishing), with ``next`` pointing back here; the actions that
cannot be undone pass through their confirmation step (:mod:`voting.confirmation`).  The panel
never shows rankings: the laptop running it is often the one on the projector.
"""
from flask import Blueprint, render_template, url_for

from voting.accounts.forms import EmptyForm
from voting.accounts.models import Role
from voting.ballots import operations as ballots
from voting.ballots.forms import OnsiteOpenForm
from voting.database import utcnow
from voting.events.models import Event, EventState
from voting.extensions import db
from voting.sealing import operations as sealing
from voting.responses import live_json
from voting.results import bundle
from voting.results import operations as results
from voting.results.operations import CHANNELS, GROUPS
from voting.results.routes import tie_text
from voting.security import roles_required

bp = Blueprint("dayof", __name__, url_prefix="/manage")
organizer_only = roles_required(Role.ORGANIZER)


def turnout_table(event, counts):
    """{category id: {group: {channel: ballots, "total": n}, "total": n}} for the page and its
    JSON, from ``ballots.turnout(event)``."""
    table = {}
    for category in event.categories:
        row = {"total": 0}
        for group in GROUPS:
            cells = {channel: counts.get((category.id, group, channel), 0) for channel in CHANNELS}
            cells["total"] = sum(cells.values())
            row[group] = cells
            row["total"] += cells["total"]
        table[category.id] = row
    return table


@bp.route("/events/<int:event_id>/day")
@organizer_only
def panel(event_id):
    event = db.get_or_404(Event, event_id)
    now = utcnow()
    frozen = bundle.frozen_results(event.id)
    # Ties are settled once voting is over; while it goes on, every count may still change.
    waiting = sealing.results_wait_reason(event)
    live = results.live_results(event) if event.state == EventState.CLOSED and waiting is None else None
    counts = ballots.turnout(event)
    return render_template(
        "dayof/panel.html",
        event=event,
        frozen=frozen,
        box=sealing.box_of(event),
        waiting=waiting,
        sessions=ballots.open_sessions(event.categories, now),
        turnout=turnout_table(event, counts),
        paper_entered={(category_id, group) for category_id, group, channel in counts if channel == "paper"},
        ties={r.id: r for r in live or [] if r.standings.unresolved_ties},
        unresolved=sum(len(r.standings.unresolved_ties) for r in live or []),
        closable=event.state == EventState.OPEN,
        here=url_for("dayof.panel", event_id=event.id),
        open_form=OnsiteOpenForm(),
        action_form=EmptyForm(),
        tie_text=tie_text,
        groups=GROUPS,
        channels=CHANNELS,
    )


@bp.route("/events/<int:event_id>/day/status.json")
@organizer_only
def status(event_id):
    """What the panel refreshes without reloading: turnout and on-site sessions."""
    event = db.get_or_404(Event, event_id)
    now = utcnow()
    sessions = ballots.open_sessions(event.categories, now)
    return live_json(dict(
        server_time=now.isoformat(),
        turnout={str(k): v for k, v in turnout_table(event, ballots.turnout(event)).items()},
        sessions={
            str(category_id): None if session is None else {
                "opened_at": session.opened_at.isoformat(),
                "closes_at": session.closes_at.isoformat() if session.closes_at else None,
                "seconds_left": max(0, int((session.closes_at - now).total_seconds())) if session.closes_at else None,
            }
            for category_id, session in sessions.items()
        },
    ))
