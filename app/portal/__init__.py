"""The requester portal: raise a request, follow it, answer what waits for you, chase (督促)."""
from flask import Blueprint

from app.web.session import login_required_for

bp = Blueprint("portal", __name__)
login_required_for(bp)

from app.portal import routes  # noqa: E402,F401
