"""The agents' request search (the box in the nav), the all-requests list with saved filters, and a request
opened by its number (/requests/INC-2026-000123)."""
from flask import Blueprint

from app.web.session import login_required_for

bp = Blueprint("requests", __name__)
login_required_for(bp)

from app.requests import routes  # noqa: E402,F401
