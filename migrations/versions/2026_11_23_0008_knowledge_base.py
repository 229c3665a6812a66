"""knowledge base: solutions and their versions, search words (FTS5 on SQLite, tsvector on PostgreSQL),
the incident-solution link

Revision ID: 20261123_0008
Revises: 20261122_0007
Create Date: 2026-11-23 09:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import engine.store.models

revision = '20261123_0008'
down_revision = '20261122_0007'
branch_labels = None
depends_on = None

# SQLite: an FTS5 index over solution_search's words (external content, so the words are stored once),
# kept in step with the table by triggers, as the SQLite documentation does it.
_SQLITE_FTS = (
    "CREATE VIRTUAL TABLE solution_fts USING fts5(title_words, body_words, content='solution_search', "
    "content_rowid='solution_id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER solution_search_ai AFTER INSERT ON solution_search BEGIN "
    "INSERT INTO solution_fts(rowid, title_words, body_words) VALUES (new.solution_id, new.title_words, new.body_words); "
    "END",
    "CREATE TRIGGER solution_search_ad AFTER DELETE ON solution_search BEGIN "
    "INSERT INTO solution_fts(solution_fts, rowid, title_words, body_words) "
    "VALUES ('delete', old.solution_id, old.title_words, old.body_words); END",
    "CREATE TRIGGER solution_search_au AFTER UPDATE ON solution_search BEGIN "
    "INSERT INTO solution_fts(solution_fts, rowid, title_words, body_words) "
    "VALUES ('delete', old.solution_id, old.title_words, old.body_words); "
    "INSERT INTO solution_fts(rowid, title_words, body_words) VALUES (new.solution_id, new.title_words, new.body_words); "
    "END",
)


def upgrade() -> None:
    utc = engine.store.models.UTCDateTime(timezone=True)
    op.create_table('solution',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('symptom', sa.Text(), nullable=False),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('fix', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('system', sa.String(length=200), nullable=True),
    sa.Column('device_type', sa.String(length=40), nullable=True),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=100), nullable=False),
    sa.Column('reviewer', sa.String(length=100), nullable=True),
    sa.Column('review_instance_id', sa.Integer(), nullable=True),
    sa.Column('review_outcome', sa.String(length=20), nullable=True),
    sa.Column('review_comment', sa.Text(), nullable=True),
    sa.Column('created_at', utc, nullable=False),
    sa.Column('updated_at', utc, nullable=False),
    sa.Column('approved_at', utc, nullable=True),
    sa.ForeignKeyConstraint(['review_instance_id'], ['process_instance.id']),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('solution', schema=None) as batch_op:
        batch_op.create_index('ix_solution_status', ['status', 'id'], unique=False)
        batch_op.create_index('ix_solution_author', ['author', 'id'], unique=False)
    op.create_table('solution_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('solution_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('symptom', sa.Text(), nullable=False),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('fix', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('system', sa.String(length=200), nullable=True),
    sa.Column('device_type', sa.String(length=40), nullable=True),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('author', sa.String(length=100), nullable=False),
    sa.Column('reviewer', sa.String(length=100), nullable=True),
    sa.Column('approved_at', utc, nullable=True),
    sa.Column('saved_at', utc, nullable=False),
    sa.ForeignKeyConstraint(['solution_id'], ['solution.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('solution_id', 'version')
    )
    op.create_table('solution_search',
    sa.Column('solution_id', sa.Integer(), nullable=False),
    sa.Column('title_words', sa.Text(), nullable=False),
    sa.Column('body_words', sa.Text(), nullable=False),
    sa.Column('document', sa.Text().with_variant(postgresql.TSVECTOR(), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['solution_id'], ['solution.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('solution_id')
    )
    with op.batch_alter_table('solution_search', schema=None) as batch_op:
        batch_op.create_index('ix_solution_search_document', ['document'], unique=False, postgresql_using='gin')
    op.create_table('incident_solution',
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('solution_id', sa.Integer(), nullable=False),
    sa.Column('linked_by', sa.String(length=100), nullable=False),
    sa.Column('linked_at', utc, nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
    sa.ForeignKeyConstraint(['solution_id'], ['solution.id']),
    sa.PrimaryKeyConstraint('instance_id')
    )
    with op.batch_alter_table('incident_solution', schema=None) as batch_op:
        batch_op.create_index('ix_incident_solution_solution', ['solution_id', 'instance_id'], unique=False)
    if op.get_bind().dialect.name == 'sqlite':
        for statement in _SQLITE_FTS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for trigger in ('solution_search_au', 'solution_search_ad', 'solution_search_ai'):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS solution_fts")
    with op.batch_alter_table('incident_solution', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_solution_solution')
    op.drop_table('incident_solution')
    with op.batch_alter_table('solution_search', schema=None) as batch_op:
        batch_op.drop_index('ix_solution_search_document', postgresql_using='gin')
    op.drop_table('solution_search')
    op.drop_table('solution_version')
    with op.batch_alter_table('solution', schema=None) as batch_op:
        batch_op.drop_index('ix_solution_author')
        batch_op.drop_index('ix_solution_status')
    op.drop_table('solution')
