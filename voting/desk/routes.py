"""The check-in desk (현장 접수), for staff (행사 도우미): find the elector, bind a card."""
from flask import Blueprint

bp = Blueprint("desk", __name__, url_prefix="/desk")
