"""IdP metadata URL: the URL, the last refresh's state, and when each certificate was last seen in the metadata

Revision ID: 0009_idp_metadata_url
Revises: 0008_email_domain_verification
Create Date: 2026-12-01

"""
import sqlalchemy as sa
from alembic import op


revision = '0009_idp_metadata_url'
down_revision = '0008_email_domain_verification'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sso_config', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idp_metadata_url', sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column('metadata_refreshed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('metadata_refresh_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('metadata_refresh_reason', sa.String(length=64), nullable=True))
    with op.batch_alter_table('idp_certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_in_metadata_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('idp_certificate', schema=None) as batch_op:
        batch_op.drop_column('last_seen_in_metadata_at')
    with op.batch_alter_table('sso_config', schema=None) as batch_op:
        batch_op.drop_column('metadata_refresh_reason')
        batch_op.drop_column('metadata_refresh_error')
        batch_op.drop_column('metadata_refreshed_at')
        batch_op.drop_column('idp_metadata_url')
