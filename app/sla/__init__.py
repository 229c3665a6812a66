"""SLA pages: the targets at risk, the policy table per fault level, re-grading a request."""
from flask import Blueprint

from app.web.session import login_required_for

bp = Blueprint("sla", __name__)
login_required_for(bp)

from app.sla import routes  # noqa: E402,F401
