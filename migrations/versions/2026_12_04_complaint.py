"""chases and complaints: request_chase (every chase, backfilled from the history), complaint, complaint_person

Revision ID: complaint_0001
Revises: 20261123_0009
Create Date: 2026-12-04 18:00:00
"""
import sqlalchemy as sa
from alembic import op

import engine.store.models

revision = "complaint_0001"
down_revision = "kpi_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_chase",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("chased_by", sa.String(length=100), nullable=False),
        sa.Column("chased_at", engine.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "number"),
    )
    with op.batch_alter_table("request_chase", schema=None) as batch_op:
        batch_op.create_index("ix_request_chase_at", ["chased_at", "id"], unique=False)
    op.create_table(
        "complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("request_instance_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("raised_by", sa.String(length=100), nullable=False),
        sa.Column("raised_at", engine.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_responsible", sa.String(length=100), nullable=True),
        sa.Column("callbacks", sa.Integer(), server_default="0", nullable=False),
        sa.Column("satisfied_at", engine.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.ForeignKeyConstraint(["request_instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id"),
        sa.UniqueConstraint("request_instance_id"),
    )
    op.create_table(
        "complaint_person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("recorded_at", engine.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("complaint_id", "username", "role"),
    )
    with op.batch_alter_table("complaint_person", schema=None) as batch_op:
        batch_op.create_index("ix_complaint_person_username", ["username", "role"], unique=False)
    _backfill_chases()


def _backfill_chases() -> None:
    """Chases recorded before this table existed are in the history (request_chased events)."""
    events = sa.table("history_event", sa.column("instance_id", sa.Integer()), sa.column("kind", sa.String()),
                      sa.column("actor", sa.String()), sa.column("at", engine.store.models.UTCDateTime(timezone=True)),
                      sa.column("payload", sa.JSON()), sa.column("seq", sa.Integer()))
    chases = sa.table("request_chase", sa.column("instance_id", sa.Integer()), sa.column("number", sa.Integer()),
                      sa.column("chased_by", sa.String()),
                      sa.column("chased_at", engine.store.models.UTCDateTime(timezone=True)),
                      sa.column("note", sa.Text()))
    bind = op.get_bind()
    rows = bind.execute(sa.select(events.c.instance_id, events.c.actor, events.c.at, events.c.payload)
                        .where(events.c.kind == "request_chased")
                        .order_by(events.c.instance_id, events.c.seq)).all()
    numbers: dict[int, int] = {}
    backfilled = []
    for row in rows:
        number = numbers[row.instance_id] = numbers.get(row.instance_id, 0) + 1
        payload = row.payload or {}
        backfilled.append({"instance_id": row.instance_id, "number": number, "chased_by": row.actor or "?",
                           "chased_at": row.at, "note": payload.get("note")})
    if backfilled:
        bind.execute(chases.insert(), backfilled)


def downgrade() -> None:
    with op.batch_alter_table("complaint_person", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_person_username")
    op.drop_table("complaint_person")
    op.drop_table("complaint")
    with op.batch_alter_table("request_chase", schema=None) as batch_op:
        batch_op.drop_index("ix_request_chase_at")
    op.drop_table("request_chase")
