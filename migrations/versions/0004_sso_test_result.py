"""Test SSO results in their own table (the result page no longer searches audit JSON)

Revision ID: 0004_sso_test_result
Revises: 0003_audit_time_id
Create Date: 2026-12-01

"""
import sqlalchemy as sa
from alembic import op


revision = '0004_sso_test_result'
down_revision = '0003_audit_time_id'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sso_test_result',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=16), nullable=False),
        sa.Column('time', sa.DateTime(), nullable=False),
        sa.Column('tester_email', sa.String(length=320), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_sso_test_result_account_id_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_test_result')),
        sa.UniqueConstraint('reference', name=op.f('uq_sso_test_result_reference')),
    )
    op.create_index('ix_sso_test_result_account_id_id', 'sso_test_result', ['account_id', 'id'], unique=False)
    # Earlier runs were kept only as sso.test audit events: copy them, so their result pages keep working.
    bind = op.get_bind()
    audit = sa.table('audit_event', sa.column('id'), sa.column('account_id'), sa.column('time'),
                     sa.column('event_type'), sa.column('outcome'), sa.column('reason'), sa.column('subject'),
                     sa.column('details', sa.JSON()))
    results = sa.table('sso_test_result', sa.column('account_id'), sa.column('reference'), sa.column('time'),
                       sa.column('tester_email'), sa.column('outcome'), sa.column('reason'), sa.column('email'),
                       sa.column('details', sa.JSON()))
    seen = set()
    rows = bind.execute(sa.select(audit).where(audit.c.event_type == 'sso.test').order_by(audit.c.id.desc()))
    for row in rows:
        details = row.details if isinstance(row.details, dict) else {}
        reference = str(details.get('reference') or '')[:16]
        if not reference or reference in seen or row.account_id is None:
            continue
        seen.add(reference)
        bind.execute(results.insert().values(
            account_id=row.account_id, reference=reference, time=row.time,
            tester_email=str(details.get('test_by') or '')[:320], outcome=row.outcome, reason=row.reason or '',
            email=(row.subject or '')[:320], details=details))


def downgrade():
    op.drop_index('ix_sso_test_result_account_id_id', table_name='sso_test_result')
    op.drop_table('sso_test_result')
