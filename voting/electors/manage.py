"""Organizer pages of the roll (명부): import, list."""
from flask import Blueprint

bp = Blueprint("roll", __name__, url_prefix="/manage")
