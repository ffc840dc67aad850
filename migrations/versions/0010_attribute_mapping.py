"""attribute mapping: which SAML attributes hold the groups, first name and last name (Okta's by default)

Revision ID: 0010_attribute_mapping
Revises: 0009_idp_metadata_url
Create Date: 2026-12-01

"""
import sqlalchemy as sa
from alembic import op


revision = '0010_attribute_mapping'
down_revision = '0009_idp_metadata_url'
branch_labels = None
depends_on = None

OKTA_GROUP_ATTRIBUTE = 'http://schemas.xmlsoap.org/claims/Group'


def upgrade():
    with op.batch_alter_table('sso_config') as batch:
        batch.add_column(sa.Column('group_attribute', sa.String(length=1000), nullable=False,
                                   server_default=OKTA_GROUP_ATTRIBUTE))
        batch.add_column(sa.Column('first_name_attribute', sa.String(length=1000), nullable=False,
                                   server_default='firstName'))
        batch.add_column(sa.Column('last_name_attribute', sa.String(length=1000), nullable=False,
                                   server_default='lastName'))


def downgrade():
    with op.batch_alter_table('sso_config') as batch:
        batch.drop_column('last_name_attribute')
        batch.drop_column('first_name_attribute')
        batch.drop_column('group_attribute')
