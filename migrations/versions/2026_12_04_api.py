"""REST API: personal API tokens; alert intake (level mapping with defaults, alert requests, notices)

Revision ID: api_0001
Revises: 20261123_0009
Create Date: 2026-12-04 17:40:00
"""
import sqlalchemy as sa
from alembic import op

import engine.store.models

revision = "api_0001"
down_revision = "20261123_0009"
branch_labels = None
depends_on = None

# The default mapping (engine.desk.alerts.DEFAULT_LEVELS says the same): source, severity -> process, level.
DEFAULT_LEVELS = [
    ("alertmanager", "critical", "emergency", "I"),
    ("alertmanager", "error", "service_desk", "II"),
    ("alertmanager", "warning", "service_desk", "III"),
    ("alertmanager", "info", "service_desk", "IV"),
    ("alertmanager", "*", "service_desk", "III"),
    ("zabbix", "disaster", "emergency", "I"),
    ("zabbix", "high", "service_desk", "II"),
    ("zabbix", "average", "service_desk", "III"),
    ("zabbix", "warning", "service_desk", "III"),
    ("zabbix", "information", "service_desk", "IV"),
    ("zabbix", "not classified", "service_desk", "IV"),
    ("zabbix", "*", "service_desk", "III"),
]


def upgrade() -> None:
    alert_level = op.create_table(
        "alert_level",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=40), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("fault_level", sa.String(length=10), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=True),
        sa.Column("updated_at", engine.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "severity"),
    )
    op.bulk_insert(alert_level, [{"source": source, "severity": severity, "process_id": process_id,
                                  "fault_level": level} for source, severity, process_id, level in DEFAULT_LEVELS])
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("created_at", engine.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", engine.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", engine.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_sha256"),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index("ix_api_token_username", ["username", "id"], unique=False)
    op.create_table(
        "alert_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("fingerprint", sa.String(length=200), nullable=False),
        sa.Column("open_fingerprint", sa.String(length=200), nullable=True),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("created_at", engine.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "open_fingerprint"),
    )
    with op.batch_alter_table("alert_request", schema=None) as batch_op:
        batch_op.create_index("ix_alert_request_fingerprint", ["source", "fingerprint"], unique=False)
    op.create_table(
        "alert_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("notice_sha256", sa.String(length=64), nullable=False),
        sa.Column("alert_request_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("received_at", engine.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["alert_request_id"], ["alert_request.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "notice_sha256"),
    )


def downgrade() -> None:
    op.drop_table("alert_notice")
    with op.batch_alter_table("alert_request", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_request_fingerprint")
    op.drop_table("alert_request")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index("ix_api_token_username")
    op.drop_table("api_token")
    op.drop_table("alert_level")
