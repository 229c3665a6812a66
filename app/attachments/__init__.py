"""Files on requests and tasks: the upload form of the attachments panel (macros/attachments.html) and the
download, for the portal and the task pages alike (engine.desk.attachments decides who sees and adds what)."""
from flask import Blueprint

from app.web.session import login_required_for

bp = Blueprint("attachments", __name__)
login_required_for(bp)

from app.attachments import routes  # noqa: E402,F401
