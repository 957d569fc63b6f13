"""Access rows of one area (see tests/access/__init__.py)."""
from tests.access.table import ANONYMOUS, EVERYONE, NOBODY, ORGANIZERS, RESIDENT, STAFF, Route  # noqa: F401

ROUTES = []


def extend_world(world, users):
    pass
