"""Customers, contracts (with their health-check cycle), zones and the zone mapping table (issue 14)."""
from flask import Blueprint

from app.web.session import login_required_for

bp = Blueprint("customers", __name__)
login_required_for(bp)

from app.customers import routes  # noqa: E402,F401
