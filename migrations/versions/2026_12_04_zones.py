"""zones, customers and contracts: service_station, maintenance_group, zone, zone_mapping, customer,
customer_contact, customer_user, contract; service_case.customer_id and the zone/customer indexes

Revision ID: zones_0001
Revises: 20261123_0009
Create Date: 2026-12-04 08:00:00
"""
import sqlalchemy as sa
from alembic import op

import engine.store.models

revision = "zones_0001"
down_revision = "api_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('customer_type', sa.String(length=40), nullable=True),
    sa.Column('vip_tier', sa.String(length=20), nullable=False),
    sa.Column('interface_person', sa.String(length=200), nullable=True),
    sa.Column('need_owner', sa.String(length=100), nullable=True),
    sa.Column('service_specialist', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('service_station',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('contract',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('accepted_on', sa.Date(), nullable=False),
    sa.Column('warranty_until', sa.Date(), nullable=False),
    sa.Column('sla_level', sa.String(length=10), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.create_index('ix_contract_customer', ['customer_id'], unique=False)

    op.create_table('customer_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=100), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('customer_contact', schema=None) as batch_op:
        batch_op.create_index('ix_customer_contact_customer', ['customer_id'], unique=False)

    op.create_table('customer_user',
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id')
    )
    with op.batch_alter_table('customer_user', schema=None) as batch_op:
        batch_op.create_index('ix_customer_user_customer', ['customer_id'], unique=False)

    op.create_table('maintenance_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.String(length=100), nullable=False),
    sa.Column('leader', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['app_group.id'], ),
    sa.ForeignKeyConstraint(['station_id'], ['service_station.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('zone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('maintenance_group_id', sa.Integer(), nullable=False),
    sa.Column('manager', sa.String(length=100), nullable=True),
    sa.Column('user_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['maintenance_group_id'], ['maintenance_group.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('zone_mapping',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('pattern', sa.String(length=200), nullable=False),
    sa.Column('zone_id', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=True),
    sa.Column('updated_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['zone_id'], ['zone.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'pattern', name='uq_zone_mapping_kind_pattern')
    )
    with op.batch_alter_table('service_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_service_case_customer', ['customer_id'], unique=False)
        batch_op.create_index('ix_service_case_zone', ['zone'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('service_case', schema=None) as batch_op:
        batch_op.drop_index('ix_service_case_zone')
        batch_op.drop_index('ix_service_case_customer')
        batch_op.drop_column('customer_id')

    op.drop_table('zone_mapping')
    op.drop_table('zone')
    op.drop_table('maintenance_group')
    with op.batch_alter_table('customer_user', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_user_customer')

    op.drop_table('customer_user')
    with op.batch_alter_table('customer_contact', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_contact_customer')

    op.drop_table('customer_contact')
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_index('ix_contract_customer')

    op.drop_table('contract')
    op.drop_table('service_station')
    op.drop_table('customer')
