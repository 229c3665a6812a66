"""Spare-parts pages (seed 000 备件库): catalogue, stock per service centre, the ledger, suppliers, stock checks,
use approvals and the monthly report; and the picker of the `parts_used` rows on task pages."""
from flask import Blueprint

from app.web.session import login_required_for

bp = Blueprint("parts", __name__)
login_required_for(bp)

from app.parts import routes  # noqa: E402,F401
