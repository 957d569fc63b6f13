"""Resident pages of the electors area: confirming a mobile phone, claiming a roll entry."""
from flask import Blueprint

bp = Blueprint("electors", __name__)
