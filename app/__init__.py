"""Flask application factory: a few named set-up steps, nothing else."""
from __future__ import annotations

from flask import Flask

import config as config_module
from engine import desk
from engine.desk import attachment_store
from engine.desk.attachments import Settings as AttachmentSettings
from engine.store.db import Database


def create_app(config_class: type[config_module.Config] | None = None) -> Flask:
    config_class = config_class or config_module.from_environment()
    config_class.validate()
    app = Flask(__name__, instance_path=str(config_module.ROOT / "instance"))
    app.config.from_object(config_class)
    _init_engine(app)
    _init_web(app)
    _register_errors(app)
    _register_cli(app)
    _register_blueprints(app)
    return app


def database(app: Flask) -> Database:
    """The app's Database (engine + unit of work)."""
    return app.extensions["opsflow_db"]


def _init_engine(app: Flask) -> None:
    """The database, the attachment store, and the service desk's rules on the process core's hooks
    (engine.desk.install)."""
    desk.install()
    app.extensions["opsflow_db"] = Database(app.config["DATABASE_URL"],
                                            busy_timeout_ms=app.config["DATABASE_BUSY_TIMEOUT_MS"])
    app.extensions["opsflow_attachments"] = AttachmentSettings(
        attachment_store.open_store(directory=app.config["ATTACHMENT_DIR"], s3_bucket=app.config["S3_BUCKET"],
                                    s3_endpoint=app.config["S3_ENDPOINT"], s3_region=app.config["S3_REGION"]),
        max_bytes=app.config["ATTACHMENT_MAX_BYTES"], max_files=app.config["ATTACHMENT_MAX_FILES"])


def _init_web(app: Flask) -> None:
    """Sign-in sessions, CSRF on every form, zh_CN/en and the template helpers (app/web/setup.py)."""
    from app.web import setup

    setup.init_app(app)


def _register_errors(app: Flask) -> None:
    """Domain errors and HTTP errors as a clear page in the user's language, or JSON for JSON clients."""
    from app.web import errors

    errors.register_errors(app)


def _register_cli(app: Flask) -> None:
    """The `flask opsflow` group (app/cli/)."""
    from app.cli import opsflow

    app.cli.add_command(opsflow)


def _register_blueprints(app: Flask) -> None:
    from app.admin import bp as admin_bp
    from app.attachments import bp as attachments_bp
    from app.audit import bp as audit_bp
    from app.auth import bp as auth_bp
    from app.conversation import bp as conversation_bp
    from app.customers import bp as customers_bp
    from app.inbox import bp as inbox_bp
    from app.kb import bp as kb_bp
    from app.main import bp as main_bp
    from app.modeler import bp as modeler_bp
    from app.portal import bp as portal_bp
    from app.report_archive import bp as report_archive_bp
    from app.reports import bp as reports_bp
    from app.sla import bp as sla_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(portal_bp, url_prefix="/portal")
    app.register_blueprint(inbox_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(audit_bp, url_prefix="/audit")
    app.register_blueprint(sla_bp, url_prefix="/sla")
    app.register_blueprint(modeler_bp, url_prefix="/modeler")
    app.register_blueprint(kb_bp)
    app.register_blueprint(customers_bp)
    from app.parts import bp as parts_bp  # spare parts (engine.desk.parts)
    app.register_blueprint(parts_bp, url_prefix="/parts")
    app.register_blueprint(report_archive_bp)  # url_prefix /reports/archive
    app.register_blueprint(reports_bp, url_prefix="/reports")
    from app.requests import bp as requests_bp  # the agents' search and all-requests list
    app.register_blueprint(requests_bp)
    app.register_blueprint(attachments_bp)  # files on requests and tasks (engine.desk.attachments)
    app.register_blueprint(conversation_bp)  # POST /requests/<id>/comments
    from app.notifications import bp as notifications_bp  # the bell, the list and the settings
    app.register_blueprint(notifications_bp)
