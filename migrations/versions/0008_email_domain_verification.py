"""DNS-verified email domains: claimed_email_domain becomes email_domain (token per account and domain)

Revision ID: 0008_email_domain_verification
Revises: 0007_isolation
Create Date: 2026-12-01

Existing claims were proven only by "a user of yours has that domain" (which another account's IdP
could fake), so every one becomes an unverified listing with a fresh token: the account must publish
the TXT record before /login/sso routes by that domain again.
"""
import secrets
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


revision = '0008_email_domain_verification'
down_revision = '0007_isolation'
branch_labels = None
depends_on = None


def upgrade():
    email_domain = op.create_table(
        'email_domain',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('domain', sa.String(length=253), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('verified_domain', sa.String(length=253), nullable=True),
        sa.Column('verified_at', sa.DateTime(), nullable=True),
        sa.Column('last_checked_at', sa.DateTime(), nullable=True),
        sa.Column('last_check_result', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_email_domain_account_id_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_email_domain')),
        sa.UniqueConstraint('account_id', 'domain', name=op.f('uq_email_domain_account_id_domain')),
        sa.UniqueConstraint('verified_domain', name=op.f('uq_email_domain_verified_domain')),
    )
    op.create_index(op.f('ix_email_domain_account_id'), 'email_domain', ['account_id'], unique=False)
    conn = op.get_bind()
    claims = conn.execute(sa.text("SELECT account_id, email_domain FROM claimed_email_domain")).all()
    now = datetime.now(timezone.utc).replace(tzinfo=None)  # naive UTC, like every other timestamp
    if claims:
        op.bulk_insert(email_domain, [
            {"account_id": account_id, "domain": domain, "token": secrets.token_hex(16), "created_at": now}
            for account_id, domain in claims])
    op.drop_index(op.f('ix_claimed_email_domain_account_id'), table_name='claimed_email_domain')
    op.drop_table('claimed_email_domain')


def downgrade():
    claimed = op.create_table(
        'claimed_email_domain',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('email_domain', sa.String(length=253), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_claimed_email_domain_account_id_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_claimed_email_domain')),
        sa.UniqueConstraint('email_domain', name=op.f('uq_claimed_email_domain_email_domain')),
    )
    op.create_index(op.f('ix_claimed_email_domain_account_id'), 'claimed_email_domain', ['account_id'], unique=False)
    # Only verified domains go back: they are unique, as the old table requires.
    rows = op.get_bind().execute(sa.text(
        "SELECT account_id, verified_domain FROM email_domain WHERE verified_domain IS NOT NULL")).all()
    if rows:
        op.bulk_insert(claimed, [{"account_id": a, "email_domain": d} for a, d in rows])
    op.drop_index(op.f('ix_email_domain_account_id'), table_name='email_domain')
    op.drop_table('email_domain')
