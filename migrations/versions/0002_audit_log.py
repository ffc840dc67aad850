"""audit log: indexes for the user-email and date-range filters

Revision ID: 0002_audit_log
Revises: 0001
Create Date: 2026-11-27

"""
from alembic import op


revision = '0002_audit_log'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_account_actor_id', ['account_id', 'actor_email', 'id'], unique=False)
        batch_op.create_index('ix_audit_event_account_subject_id', ['account_id', 'subject', 'id'], unique=False)
        batch_op.create_index('ix_audit_event_account_time', ['account_id', 'time'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_account_time')
        batch_op.drop_index('ix_audit_event_account_subject_id')
        batch_op.drop_index('ix_audit_event_account_actor_id')
