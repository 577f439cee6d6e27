"""used_credential (replay store) and auth_failure (lockout)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 06:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'used_credential',
        sa.Column('kind', sa.String(length=16), nullable=False, comment='hmac | wsse'),
        sa.Column('value_hash', sa.String(length=64), nullable=False,
                  comment='SHA-256 of the signature or nonce, never the value'),
        sa.Column('expires_at', sa.BigInteger(), nullable=False,
                  comment='unix seconds: after it the credential is stale anyway'),
        sa.PrimaryKeyConstraint('kind', 'value_hash', name=op.f('pk_used_credential')),
        comment='signatures and nonces accepted once: a replay within their window is refused',
    )
    op.create_index('ix_used_credential_expires', 'used_credential', ['expires_at'], unique=False)
    op.create_table(
        'auth_failure',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False, comment='system id @ client address, or ? @ address'),
        sa.Column('failed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_failure')),
        comment='recent authentication failures, for the lockout',
    )
    op.create_index('ix_auth_failure_subject', 'auth_failure', ['subject', 'failed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_auth_failure_subject', table_name='auth_failure')
    op.drop_table('auth_failure')
    op.drop_index('ix_used_credential_expires', table_name='used_credential')
    op.drop_table('used_credential')
