"""signed AuthnRequests and encrypted assertions: per-account SP key pairs and the two options

Revision ID: 0011_sp_keys
Revises: 0010_attribute_mapping
Create Date: 2026-12-01

"""
import sqlalchemy as sa
from alembic import op


revision = '0011_sp_keys'
down_revision = '0010_attribute_mapping'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sso_config', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sign_requests', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('want_encrypted_assertions', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table(
        'sp_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=8), nullable=False),
        sa.Column('cert_pem', sa.Text(), nullable=False),
        sa.Column('private_key_encrypted', sa.Text(), nullable=False),
        sa.Column('sha256_fingerprint', sa.String(length=95), nullable=False),
        sa.Column('not_before', sa.DateTime(), nullable=False),
        sa.Column('not_after', sa.DateTime(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_sp_key_account_id_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sp_key')),
        sa.UniqueConstraint('account_id', 'state', name=op.f('uq_sp_key_account_id_state')),
    )
    op.create_index(op.f('ix_sp_key_account_id'), 'sp_key', ['account_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_sp_key_account_id'), table_name='sp_key')
    op.drop_table('sp_key')
    with op.batch_alter_table('sso_config', schema=None) as batch_op:
        batch_op.drop_column('want_encrypted_assertions')
        batch_op.drop_column('sign_requests')
