"""Auditors' pages: every instance's history with its changes, SLA outcomes and verdict, its replay on
the diagram, and exports. Read only, and every look is logged."""
from flask import Blueprint

from app.web.session import login_required_for

bp = Blueprint("audit", __name__)
login_required_for(bp)

from app.audit import routes  # noqa: E402,F401
