"""Service reports: the KPI dashboard (engine.desk.kpi), drill-down to the cases behind each figure, exports."""
from flask import Blueprint

from app.web.session import login_required_for

bp = Blueprint("reports", __name__)
login_required_for(bp)

from app.reports import routes  # noqa: E402,F401
