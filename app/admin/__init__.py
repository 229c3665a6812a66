"""Administration, minimal for now: who is in which group."""
from flask import Blueprint

from app.web.session import login_required_for

bp = Blueprint("admin", __name__)
login_required_for(bp)

from app.admin import routes  # noqa: E402,F401
