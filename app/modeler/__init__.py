"""The process owners' modeler: edit, validate and deploy diagrams, compare and roll back versions,
move running instances to a new version. Auditors may look; only process owners change anything."""
from flask import Blueprint

from app.web.session import login_required_for

bp = Blueprint("modeler", __name__)
login_required_for(bp)

from app.modeler import routes  # noqa: E402,F401
