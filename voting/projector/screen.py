"""The on-site voting screen: what the projector shows while a category is being voted on.

Only what the room may see while votes come in: the finalists in ballot order (by title, so
that the order means nothing), how to join, the time left and how many have voted in total.
Never a finalist's approvals or a rank: the screen must not sway the vote it shows.
"""
import enum
import math
from dataclasses import dataclass
from datetime import timezone
from urllib.parse import urlsplit

import segno
from babel.dates import format_time
from flask import url_for
from flask_babel import get_locale
from sqlalchemy import select

from voting.accounts.models import VotingGroup
from voting.ballots import operations
from voting.ballots.models import OnsiteSession
from voting.database import utcnow
from voting.events.models import EventState
from voting.extensions import db
from voting.i18n import SEOUL
from voting.nominations.models import NominationPhoto

# (most finalists, density): the screen's grid and type size for that many finalists; the CSS
# classes density-1 .. density-8 of static/css/projector.css hold the columns and sizes.
DENSITIES = ((3, 1), (6, 2), (12, 3), (18, 4), (24, 5), (32, 6), (40, 7))
DENSEST = 8  # more than 40 finalists: five narrow columns, still no scrolling
PHOTOS_UP_TO_DENSITY = 4  # with more than 18 finalists a thumbnail would squeeze the title


class ScreenState(str, enum.Enum):
    NOT_OPENED = "not_opened"  # on-site voting has not been opened for this category yet
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Card:
    """One finalist as the screen shows it: no count, no rank."""

    id: int
    title: str
    nominee: str | None
    affiliation: str | None
    photo_url: str | None


@dataclass(frozen=True)
class Status:
    state: ScreenState
    closes_at: object  # aware UTC datetime, or None when the session has no countdown
    seconds_left: int | None
    resident: int
    official: int
    server_time: object

    @property
    def total(self):
        return self.resident + self.official

    def as_json(self):
        return {
            "state": self.state.value,
            "closes_at": iso_utc(self.closes_at),
            "seconds_left": self.seconds_left,
            "ballots": {"resident": self.resident, "official": self.official, "total": self.total},
            "server_time": iso_utc(self.server_time),
        }


def iso_utc(moment):
    """ISO 8601 in UTC with a Z, which every browser's Date.parse reads the same way."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def clock(seconds):
    """A countdown as the screen shows it: 4:05, or 1:04:05 past an hour."""
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def seoul_time(moment):
    """The wall-clock time in Seoul, e.g. 오후 3:30, for "closes at"."""
    if moment is None:
        return ""
    return format_time(moment, "short", tzinfo=SEOUL, locale=str(get_locale() or "ko"))


def screen_state(category, now):
    """(state, open session or None). Open means a ballot with an on-site code would be taken
    now, as ballots.operations.voting_open_for decides; closed means a session has been and
    gone, or the event no longer takes ballots at all."""
    event = category.event
    session = operations.open_session(category, now) if event.state == EventState.OPEN else None
    if session is not None:
        return ScreenState.OPEN, session
    if event.state not in (EventState.DRAFT, EventState.OPEN):
        return ScreenState.CLOSED, None
    ever_opened = db.session.scalar(
        select(OnsiteSession.id).where(OnsiteSession.category_id == category.id).limit(1)
    ) is not None
    return (ScreenState.CLOSED if ever_opened else ScreenState.NOT_OPENED), None


def ballots_cast(category):
    """{"resident": n, "official": n}: ballots of the category over every channel, paper
    totals as entered, counted exactly as the organizers' turnout page counts them."""
    counts = {group.value: 0 for group in VotingGroup}
    for (category_id, group, _channel), number in operations.turnout(category.event).items():
        if category_id == category.id:
            counts[group] += number
    return counts


def status(category, now=None):
    now = now or utcnow()
    state, session = screen_state(category, now)
    closes_at = session.closes_at if session is not None else None
    seconds_left = max(0, math.ceil((closes_at - now).total_seconds())) if closes_at is not None else None
    counts = ballots_cast(category)
    return Status(state, closes_at, seconds_left, counts["resident"], counts["official"], now)


def cards(category):
    """The finalists in the ballot's order, with a photo link only for those that have one."""
    finalists = operations.finalists(category)
    with_photo = set(db.session.scalars(
        select(NominationPhoto.nomination_id).where(NominationPhoto.nomination_id.in_([n.id for n in finalists]))
    ))
    person = category.is_person
    return [
        Card(
            id=n.id,
            title=n.title,
            nominee=n.nominee_name if person else None,
            affiliation=n.nominee_affiliation if person else None,
            photo_url=url_for("nominations.photo", nomination_id=n.id) if n.id in with_photo else None,
        )
        for n in finalists
    ]


def density(count):
    """1 (a few large cards) .. 8 (many small ones): the grid that fits this many on one screen."""
    return next((level for most, level in DENSITIES if count <= most), DENSEST)


def shows_photos(count):
    return density(count) <= PHOTOS_UP_TO_DENSITY


@dataclass(frozen=True)
class JoinLink:
    url: str
    short: str  # what people type: host and path, no scheme
    qr_svg: str


def join_link(event):
    """The event's on-site page as the room reaches it: the address this screen was opened
    with, so that phones on the venue's network reach the same host."""
    url = url_for("ballots.onsite_start", event_id=event.id, _external=True)
    parts = urlsplit(url)
    qr = segno.make(url, error="m")
    svg = qr.svg_inline(scale=1, border=2, omitsize=True, svgclass="qr-code", lineclass="qr-modules",
                        dark="#000", light="#fff")
    return JoinLink(url=url, short=parts.netloc + parts.path, qr_svg=svg)
