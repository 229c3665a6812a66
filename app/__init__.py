"""Flask application factory: a few named set-up steps, nothing else."""
from __future__ import annotations

from flask import Flask, jsonify

import config as config_module
from engine.db import Database
from engine.errors import OpsflowError


def create_app(config_class: type[config_module.Config] | None = None) -> Flask:
    config_class = config_class or config_module.from_environment()
    config_class.validate()
    app = Flask(__name__, instance_path=str(config_module.ROOT / "instance"))
    app.config.from_object(config_class)
    _init_database(app)
    _register_errors(app)
    _register_cli(app)
    _register_blueprints(app)
    return app


def database(app: Flask) -> Database:
    """The app's Database (engine + unit of work)."""
    return app.extensions["opsflow_db"]


def _init_database(app: Flask) -> None:
    app.extensions["opsflow_db"] = Database(app.config["DATABASE_URL"])


def _register_errors(app: Flask) -> None:
    @app.errorhandler(OpsflowError)
    def _domain_error(error: OpsflowError):  # type: ignore[no-untyped-def]
        return jsonify(error.to_dict()), error.status


def _register_cli(app: Flask) -> None:
    """The `flask opsflow` group; each app/cli_<area>.py adds its commands to it when imported."""
    import importlib
    import pkgutil

    import app as package
    from app.cli import opsflow

    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("cli_"):
            importlib.import_module(f"app.{module.name}")
    app.cli.add_command(opsflow)


def _register_blueprints(app: Flask) -> None:
    from app.main import bp as main_bp

    app.register_blueprint(main_bp)
