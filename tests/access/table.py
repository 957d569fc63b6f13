"""The access table's vocabulary: roles, role sets and one row (Route).

Kept apart from tests/test_access.py so that each area's rows can live in a module of
its own under tests/access/ (see tests/access/__init__.py).
"""
from dataclasses import dataclass
from typing import Callable

ANONYMOUS, RESIDENT, OFFICIAL, JUDGE, STAFF, ORGANIZER = "anonymous", "resident", "official", "judge", "staff", "organizer"
ROLES = (ANONYMOUS, RESIDENT, OFFICIAL, JUDGE, STAFF, ORGANIZER)
EVERYONE = frozenset(ROLES)
SIGNED_IN = EVERYONE - {ANONYMOUS}
NOMINATORS = frozenset({RESIDENT, OFFICIAL})
ORGANIZERS = frozenset({ORGANIZER})
NOBODY = frozenset()

LOGIN = "login"  # expected refusal: a redirect to /login?next=<the page>

@dataclass(frozen=True)
class Route:
    """One row of the access table.

    ``hidden``: refused roles that get 404 (the page hides that it exists) instead of
    login (anonymous) or 403 (signed in). ``changes``: allowed roles whose request must change
    the database, which proves that ``data`` would really act if a refused role got through.
    ``setup(web, world)`` runs before the request, for every role alike.
    """

    endpoint: str
    method: str
    url: Callable
    allowed: frozenset
    hidden: frozenset = NOBODY
    data: Callable | None = None
    changes: frozenset = NOBODY
    note: str = ""
    setup: Callable | None = None  # prepares the client before the request, e.g. an on-site code

    def __post_init__(self):
        assert self.method in ("GET", "POST")
        assert self.allowed <= EVERYONE and not (self.hidden & self.allowed)
        assert self.changes <= self.allowed
        assert (self.data is not None) == (self.method == "POST")

    @property
    def refused(self):
        return EVERYONE - self.allowed

    def expected_refusal(self, role):
        if role in self.hidden:
            return 404
        return LOGIN if role == ANONYMOUS else 403

    def id(self):
        return f"{self.method} {self.endpoint}" + (f" ({self.note})" if self.note else "")


def no_data(_w):
    return {}


def confirmed(_w):
    """The answer to the confirmation step of an action that cannot be undone."""
    return {"confirmed": "yes"}
