"""SCIM 2.0 provisioning: tokens, SCIM ids and externalIds of users and teams, default role for new people

Revision ID: 0006_scim
Revises: 0005_sessions
Create Date: 2026-12-01

"""
import uuid

import sqlalchemy as sa
from alembic import op


revision = '0006_scim'
down_revision = '0005_sessions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'scim_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_scim_token_account_id_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scim_token')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_scim_token_token_hash')),
    )
    op.create_index(op.f('ix_scim_token_account_id'), 'scim_token', ['account_id'], unique=False)

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scim_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('external_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('given_name', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('family_name', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
    users = sa.table('user_account', sa.column('id', sa.Integer), sa.column('scim_id', sa.String),
                     sa.column('created_at', sa.DateTime), sa.column('updated_at', sa.DateTime))
    conn = op.get_bind()
    for (user_id,) in conn.execute(sa.select(users.c.id)).fetchall():
        conn.execute(users.update().where(users.c.id == user_id).values(scim_id=uuid.uuid4().hex))
    conn.execute(users.update().values(updated_at=users.c.created_at))
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.alter_column('scim_id', existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column('updated_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column('given_name', existing_type=sa.String(length=200), server_default=None)
        batch_op.alter_column('family_name', existing_type=sa.String(length=200), server_default=None)
        batch_op.create_unique_constraint(batch_op.f('uq_user_account_scim_id'), ['scim_id'])
        batch_op.create_index('ix_user_account_account_external_id', ['account_id', 'external_id'], unique=False)
        batch_op.create_index('ix_user_account_account_id_id', ['account_id', 'id'], unique=False)

    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scim_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('scim_external_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_team_scim_id'), ['scim_id'])

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('default_role_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_account_default_role_id_role'), 'role', ['default_role_id'],
                                    ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_account_default_role_id_role'), type_='foreignkey')
        batch_op.drop_column('default_role_id')
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_team_scim_id'), type_='unique')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('scim_external_id')
        batch_op.drop_column('scim_id')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index('ix_user_account_account_id_id')
        batch_op.drop_index('ix_user_account_account_external_id')
        batch_op.drop_constraint(batch_op.f('uq_user_account_scim_id'), type_='unique')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('family_name')
        batch_op.drop_column('given_name')
        batch_op.drop_column('external_id')
        batch_op.drop_column('scim_id')
    op.drop_index(op.f('ix_scim_token_account_id'), table_name='scim_token')
    op.drop_table('scim_token')
