"""Signing in and out, and the language switch (zh_CN by default, English on request)."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.auth import routes  # noqa: E402,F401
