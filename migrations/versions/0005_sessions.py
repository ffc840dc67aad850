"""server-side sessions and remember-me tokens; Require SSO and break-glass admins

Revision ID: 0005_sessions
Revises: 0004_sso_test_result
Create Date: 2026-12-01

"""
import sqlalchemy as sa
from alembic import op


revision = '0005_sessions'
down_revision = '0004_sso_test_result'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'remember_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_remember_token_user_id_user_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_remember_token')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_remember_token_token_hash')),
    )
    op.create_index(op.f('ix_remember_token_user_id'), 'remember_token', ['user_id'], unique=False)
    op.create_table(
        'user_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('method', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=False),
        sa.Column('user_agent', sa.String(length=500), nullable=False),
        sa.Column('remember_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_user_session_account_id_account'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['remember_id'], ['remember_token.id'],
                                name=op.f('fk_user_session_remember_id_remember_token'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_user_session_user_id_user_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_session')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_user_session_token_hash')),
    )
    op.create_index(op.f('ix_user_session_user_id'), 'user_session', ['user_id'], unique=False)
    with op.batch_alter_table('sso_config', schema=None) as batch_op:
        batch_op.add_column(sa.Column('require_sso', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('break_glass', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('break_glass')
    with op.batch_alter_table('sso_config', schema=None) as batch_op:
        batch_op.drop_column('require_sso')
    op.drop_index(op.f('ix_user_session_user_id'), table_name='user_session')
    op.drop_table('user_session')
    op.drop_index(op.f('ix_remember_token_user_id'), table_name='remember_token')
    op.drop_table('remember_token')
