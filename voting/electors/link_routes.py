"""Personal links: organizers send them; a link opens the ballot of its roll elector without an account."""
from flask import Blueprint

bp = Blueprint("links", __name__)
