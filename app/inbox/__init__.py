"""The agents' inbox and task pages: claim, release, assign, complete; the diagram of the case."""
from flask import Blueprint

from app.web.session import login_required_for

bp = Blueprint("inbox", __name__)
login_required_for(bp)

from app.inbox import routes  # noqa: E402,F401
