"""tenant isolation: released custom domains held for PORTAL_DOMAIN_QUARANTINE_DAYS

Revision ID: 0007_isolation
Revises: 0006_scim
Create Date: 2026-12-01

(Named 0007 because main may gain 0006 in parallel; re-chain down_revision when merging.)
"""
import sqlalchemy as sa
from alembic import op


revision = '0007_isolation'
down_revision = '0006_scim'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'released_domain',
        sa.Column('domain', sa.String(length=63), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.Column('released_at', sa.DateTime(), nullable=False),
        sa.Column('held_until', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_released_domain_account_id_account'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('domain', name=op.f('pk_released_domain')),
    )
    op.create_index(op.f('ix_released_domain_account_id'), 'released_domain', ['account_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_released_domain_account_id'), table_name='released_domain')
    op.drop_table('released_domain')
