"""Knowledge-base pages: search, a solution, the editor, the 技术负责人's review queue, and the panel on
resolution steps (link a solution, write a new one, or a manager's "no reusable solution")."""
from flask import Blueprint

from app.web.session import login_required_for

bp = Blueprint("kb", __name__)
login_required_for(bp)

from app.kb import routes  # noqa: E402,F401
