"""The service-report archive (seed 002): archived reports by class and attribute, each report with its
figures and PDF versions, the PDFs themselves (hash checked), the 质量管理员's late and incomplete list,
and the generated figures on the report's task pages."""
from flask import Blueprint

from app.web.session import login_required_for

bp = Blueprint("report_archive", __name__, url_prefix="/reports/archive")
login_required_for(bp)

from app.report_archive import routes  # noqa: E402,F401
