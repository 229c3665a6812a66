"""Each user's notifications: the list (mark read, mark all read) and the settings (which kinds, by which channel)."""
from flask import Blueprint

from app.web.session import login_required_for

bp = Blueprint("notifications", __name__)
# Reading one's own notices and choosing which to get change nothing of the service: auditors too.
login_required_for(bp, read_only_for_auditors=False)

from app.notifications import routes  # noqa: E402,F401
