"""audit log: (account_id, id, time) replaces (account_id, id) so date-range pages walk ids in the index

Revision ID: 0003_audit_time_id
Revises: 0002_audit_log
Create Date: 2026-11-26

"""
from alembic import op


revision = '0003_audit_time_id'
down_revision = '0002_audit_log'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_account_id_time', ['account_id', 'id', 'time'], unique=False)
        batch_op.drop_index('ix_audit_event_account_id_id')


def downgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_account_id_id', ['account_id', 'id'], unique=False)
        batch_op.drop_index('ix_audit_event_account_id_time')
