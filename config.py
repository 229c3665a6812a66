"""Settings from the environment, with defaults for the embedded (SQLite) set-up."""
from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent


class ConfigError(RuntimeError):
    pass


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from None


class Config:
    """Development defaults: SQLite under instance/, everything on 127.0.0.1."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'opsflow.db'}")
    BPMN_DIR = Path(os.environ.get("OPSFLOW_BPMN_DIR", ROOT / "bpmn"))
    MAX_CONTENT_LENGTH = _env_int("OPSFLOW_MAX_UPLOAD_BYTES", 4 * 1024 * 1024)
    # Attachments (engine.desk.attachments): kept in this directory, or in an S3-compatible bucket when
    # OPSFLOW_S3_BUCKET is set (keys: OPSFLOW_S3_ACCESS_KEY_ID/…_SECRET_ACCESS_KEY, else boto3's own chain).
    # The upload routes raise MAX_CONTENT_LENGTH for their own requests to the file limit plus the form's
    # few fields (app/attachments), so a file at the limit passes and a larger one is a 413 naming it.
    ATTACHMENT_DIR = os.environ.get("OPSFLOW_ATTACHMENT_DIR", str(ROOT / "instance" / "attachments"))
    ATTACHMENT_MAX_BYTES = _env_int("OPSFLOW_ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024)
    ATTACHMENT_MAX_FILES = _env_int("OPSFLOW_ATTACHMENT_MAX_FILES", 20)
    S3_ENDPOINT = os.environ.get("OPSFLOW_S3_ENDPOINT") or None
    S3_BUCKET = os.environ.get("OPSFLOW_S3_BUCKET") or None
    S3_REGION = os.environ.get("OPSFLOW_S3_REGION") or None
    # SQLite: how long a request or command waits for another process's write lock before it
    # answers "the database is busy" (503 on the web, one error line in the CLI).
    DATABASE_BUSY_TIMEOUT_MS = _env_int("OPSFLOW_DB_BUSY_TIMEOUT_MS", 30_000)
    BABEL_DEFAULT_LOCALE = os.environ.get("OPSFLOW_DEFAULT_LOCALE", "zh_CN")
    # Times are stored in UTC and shown in this zone (the customers are in China).
    BABEL_DEFAULT_TIMEZONE = os.environ.get("OPSFLOW_TIMEZONE", "Asia/Shanghai")
    # The most case rows one CSV/XLSX export of the reports holds (the rest is named in a last line): a year of a
    # large contract must not build a file the size of the database in the worker's memory.
    REPORT_EXPORT_MAX_ROWS = _env_int("OPSFLOW_REPORT_EXPORT_MAX_ROWS", 50_000)
    # A CSRF token lives as long as the session: a long form must not expire while it is typed.
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_SAMESITE = "Lax"
    TESTING = False

    @classmethod
    def validate(cls) -> None:
        """Refuse start-up with settings that cannot work, with a message naming the setting."""
        if not cls.DATABASE_URL.startswith(("sqlite", "postgresql")):
            raise ConfigError(f"DATABASE_URL must be sqlite:/// or postgresql+psycopg://, got {cls.DATABASE_URL!r}")
        if cls.BABEL_DEFAULT_LOCALE not in ("zh_CN", "en"):
            raise ConfigError("OPSFLOW_DEFAULT_LOCALE must be zh_CN or en")
        if cls.ATTACHMENT_MAX_BYTES < 1:
            raise ConfigError(f"OPSFLOW_ATTACHMENT_MAX_BYTES must be a positive number of bytes, "
                              f"got {cls.ATTACHMENT_MAX_BYTES}")
        if cls.ATTACHMENT_MAX_FILES < 1:
            raise ConfigError(f"OPSFLOW_ATTACHMENT_MAX_FILES must be at least 1, got {cls.ATTACHMENT_MAX_FILES}")
        if cls.S3_ENDPOINT and not cls.S3_BUCKET:
            raise ConfigError("OPSFLOW_S3_ENDPOINT is set but OPSFLOW_S3_BUCKET is not: name the bucket")
        try:
            ZoneInfo(cls.BABEL_DEFAULT_TIMEZONE)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"OPSFLOW_TIMEZONE must be a time zone such as Asia/Shanghai, "
                              f"got {cls.BABEL_DEFAULT_TIMEZONE!r}") from None
        _validate_mail()


def _validate_mail() -> None:
    """OPSFLOW_SMTP_* (engine.desk.notify; README "E-mail notifications") and OPSFLOW_BASE_URL, the address mails
    link to: a typo stops the start instead of every notification failing later."""
    from engine.desk import notify

    try:
        notify.settings_from_env()
    except ValueError as error:
        raise ConfigError(str(error)) from None
    base = os.environ.get("OPSFLOW_BASE_URL", "").strip()
    if base and not base.startswith(("http://", "https://")):
        raise ConfigError(f"OPSFLOW_BASE_URL must start with http:// or https://, got {base!r}")


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test"
    DATABASE_URL = os.environ.get("OPSFLOW_TEST_DATABASE_URL", "sqlite://")


class ProductionConfig(Config):
    @classmethod
    def validate(cls) -> None:
        super().validate()
        if cls.SECRET_KEY == "dev-only-not-secret":
            raise ConfigError("SECRET_KEY must be set in production")
        if "DATABASE_URL" not in os.environ:
            raise ConfigError("DATABASE_URL must be set in production (postgresql+psycopg://…)")


CONFIGS = {"development": Config, "test": TestConfig, "production": ProductionConfig}


def from_environment() -> type[Config]:
    name = os.environ.get("OPSFLOW_CONFIG", "development")
    if name not in CONFIGS:
        raise ConfigError(f"OPSFLOW_CONFIG must be one of {', '.join(CONFIGS)}, got {name!r}")
    return CONFIGS[name]
