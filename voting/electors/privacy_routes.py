"""Organizer pages of the personal-data lifecycle: the destruction ledger (파기 대장)."""
from flask import Blueprint

bp = Blueprint("privacy", __name__, url_prefix="/manage")
