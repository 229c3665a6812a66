"""Landing page and health check until the agents' web (inbox, forms) lands."""
from flask import Blueprint

bp = Blueprint("main", __name__)

from app.main import routes  # noqa: E402,F401
