"""The conversation on a request: posting a reply or an internal note from the portal's request page or an
agent's task page (the panel itself is app/templates/macros/conversation.html)."""
from flask import Blueprint

from app.web.session import login_required_for

bp = Blueprint("conversation", __name__)
login_required_for(bp)

from app.conversation import routes  # noqa: E402,F401
