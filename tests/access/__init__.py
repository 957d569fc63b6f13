"""Rows of the access table (tests/test_access.py) that belong to one area each.

Each module here has ``ROUTES`` (a list of tests.access.table.Route) and
``extend_world(world, users)``, which adds to the shared world (a SimpleNamespace) the
records its rows need; ``users`` maps each role to its account of the world. The world's
tables were emptied just before, and the caller commits.
"""
from importlib import import_module

AREAS = ("electors_phone", "electors_roll", "electors_links", "electors_desk", "electors_privacy", "sealing")


def _modules():
    return [import_module(f"tests.access.{name}") for name in AREAS]


def extra_routes():
    return [route for module in _modules() for route in module.ROUTES]


def extend_world(world, users):
    for module in _modules():
        module.extend_world(world, users)
