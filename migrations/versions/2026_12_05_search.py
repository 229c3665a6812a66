"""readable request numbers (process_instance.number, request_counter), the agents' request search
(request_search; FTS5 request_fts on SQLite, a tsvector on PostgreSQL) and saved filters

Revision ID: search_0001
Revises: slacal_0001
Create Date: 2026-12-05 06:00:00

Existing instances get their numbers in id order (per prefix and year of their start in China), the counters
continue from there, and every existing request gets its search words. The downgrade drops it all.
"""
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import engine.store.models

revision = "search_0001"
down_revision = "slacal_0001"
branch_labels = None
depends_on = None

# As engine.desk.numbers.PREFIXES was when this revision was written (a migration never follows later changes).
_PREFIXES = {"service_desk": "INC", "emergency": "EMG", "third_party": "TPS", "other_service": "OSR",
             "problem_management": "PRB", "software_adjustment": "CHG", "health_check": "HCK",
             "complaint": "CMP", "fault_report": "FRP"}
_CHINA = ZoneInfo("Asia/Shanghai")

_SQLITE_FTS = (
    "CREATE VIRTUAL TABLE request_fts USING fts5(words, content='request_search', content_rowid='instance_id', "
    "tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER request_search_ai AFTER INSERT ON request_search BEGIN "
    "INSERT INTO request_fts(rowid, words) VALUES (new.instance_id, new.words); END",
    "CREATE TRIGGER request_search_ad AFTER DELETE ON request_search BEGIN "
    "INSERT INTO request_fts(request_fts, rowid, words) VALUES ('delete', old.instance_id, old.words); END",
    "CREATE TRIGGER request_search_au AFTER UPDATE ON request_search BEGIN "
    "INSERT INTO request_fts(request_fts, rowid, words) VALUES ('delete', old.instance_id, old.words); "
    "INSERT INTO request_fts(rowid, words) VALUES (new.instance_id, new.words); END",
)


def _year(started_at: Any) -> int:
    if isinstance(started_at, str):  # SQLite hands back text
        started_at = dt.datetime.fromisoformat(started_at)
    if started_at.tzinfo is None:
        started_at = started_at.replace(tzinfo=dt.UTC)
    return int(started_at.astimezone(_CHINA).year)


def _backfill_numbers(bind: sa.Connection) -> None:
    counters: dict[tuple[str, int], int] = {}
    rows = bind.execute(sa.text("SELECT id, process_id, started_at FROM process_instance ORDER BY id")).all()
    numbers = []
    for row in rows:
        key = (_PREFIXES.get(row.process_id, "REQ"), _year(row.started_at))
        counters[key] = counters.get(key, 0) + 1
        numbers.append({"i": row.id, "n": f"{key[0]}-{key[1]:04d}-{counters[key]:06d}"})
    if numbers:
        bind.execute(sa.text("UPDATE process_instance SET number = :n WHERE id = :i"), numbers)
    if counters:
        bind.execute(sa.text("INSERT INTO request_counter (prefix, year, last) VALUES (:p, :y, :l)"),
                     [{"p": p, "y": y, "l": last} for (p, y), last in counters.items()])


def _backfill_search(bind: sa.Connection) -> None:
    """Every request's search words, as engine.desk.request_search writes them for a new one."""
    from engine.desk import request_search  # the tokenizer (jieba) and the document's layout

    rows = bind.execute(sa.text(
        "SELECT i.id, i.title, i.started_by, u.display_name, c.customer, h.payload FROM process_instance i "
        "LEFT JOIN app_user u ON u.username = i.started_by LEFT JOIN service_case c ON c.instance_id = i.id "
        "LEFT JOIN history_event h ON h.instance_id = i.id AND h.kind = 'instance_started' ORDER BY i.id")).all()
    dialect = bind.dialect.name
    batch = []
    for row in rows:
        payload = row.payload
        if isinstance(payload, str):
            import json
            payload = json.loads(payload)
        data = dict((payload or {}).get("data") or {})
        fields = request_search.fields_of(data, title=row.title, requester=row.started_by,
                                          requester_name=row.display_name, customer=row.customer)
        batch.append({"instance_id": row.id, **request_search.search_row(fields, dialect)})
    if not batch:
        return
    document = "CAST(:document AS tsvector)" if dialect == "postgresql" else ":document"
    statement = sa.text(f"INSERT INTO request_search (instance_id, fields, text, words, document) "
                        f"VALUES (:instance_id, :fields, :text, :words, {document})").bindparams(
        sa.bindparam("fields", type_=sa.JSON()))
    for start in range(0, len(batch), 500):
        bind.execute(statement, batch[start:start + 500])


def upgrade() -> None:
    # Plain ALTER TABLE and an index: a batch copy of process_instance would trip SQLite's foreign keys.
    op.add_column("process_instance", sa.Column("number", sa.String(length=20), nullable=True))
    op.create_index("ix_instance_number", "process_instance", ["number"], unique=True)
    op.create_table("request_counter",
                    sa.Column("prefix", sa.String(length=10), nullable=False),
                    sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column("last", sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint("prefix", "year"))
    op.create_table("request_search",
                    sa.Column("instance_id", sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column("fields", sa.JSON(), nullable=False),
                    sa.Column("text", sa.Text(), nullable=False),
                    sa.Column("words", sa.Text(), nullable=False),
                    sa.Column("document", sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql"),
                              nullable=True),
                    sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
                    sa.PrimaryKeyConstraint("instance_id"))
    with op.batch_alter_table("request_search", schema=None) as batch_op:
        batch_op.create_index("ix_request_search_document", ["document"], unique=False, postgresql_using="gin")
    op.create_table("saved_filter",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("username", sa.String(length=100), nullable=False),
                    sa.Column("name", sa.String(length=100), nullable=False),
                    sa.Column("query", sa.Text(), nullable=False),
                    sa.Column("group_id", sa.String(length=100), nullable=True),
                    sa.Column("created_at", engine.store.models.UTCDateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint("id"),
                    sa.UniqueConstraint("username", "name"))
    with op.batch_alter_table("saved_filter", schema=None) as batch_op:
        batch_op.create_index("ix_saved_filter_group", ["group_id"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in _SQLITE_FTS:
            op.execute(statement)
    _backfill_numbers(bind)
    _backfill_search(bind)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("request_search_au", "request_search_ad", "request_search_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS request_fts")
    with op.batch_alter_table("saved_filter", schema=None) as batch_op:
        batch_op.drop_index("ix_saved_filter_group")
    op.drop_table("saved_filter")
    with op.batch_alter_table("request_search", schema=None) as batch_op:
        batch_op.drop_index("ix_request_search_document")
    op.drop_table("request_search")
    op.drop_table("request_counter")
    op.drop_index("ix_instance_number", table_name="process_instance")
    op.drop_column("process_instance", "number")
