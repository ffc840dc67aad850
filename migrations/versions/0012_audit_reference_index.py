"""an index for the audit log's reference filter: (account_id, details' reference, id), events with one only

Revision ID: 0012_audit_reference_index
Revises: 0011_sp_keys
Create Date: 2026-12-01

"""
import sqlalchemy as sa
from alembic import op


revision = '0012_audit_reference_index'
down_revision = '0011_sp_keys'
branch_labels = None
depends_on = None

# The same SQL text as portal.models.audit.REFERENCE (an expression index matches queries by its text).
_REFERENCE = {"postgresql": "(details ->> 'reference')", "sqlite": "json_extract(details, '$.reference')"}


def upgrade():
    reference = sa.text(_REFERENCE[op.get_bind().dialect.name])
    op.create_index('ix_audit_event_account_reference_id', 'audit_event', ['account_id', reference, 'id'],
                    postgresql_where=sa.text(f"{reference.text} IS NOT NULL"),
                    sqlite_where=sa.text(f"{reference.text} IS NOT NULL"))


def downgrade():
    op.drop_index('ix_audit_event_account_reference_id', table_name='audit_event')
