"""exchange_log (the tamper-evident exchange log) and its head row

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 07:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'exchange_log',
        sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False, comment='1, 2, 3 … one sequence per hub'),
        sa.Column('at', sa.String(length=40), nullable=False, comment='ISO 8601 UTC with Z, as hashed'),
        sa.Column('direction', sa.String(length=3), nullable=False, comment='in | out'),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('system', sa.String(length=64), nullable=False),
        sa.Column('peer', sa.String(length=64), nullable=True),
        sa.Column('message_id', sa.String(length=128), nullable=False),
        sa.Column('digest', sa.String(length=71), nullable=False, comment='sha256:<hex> of the exact bytes'),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('outcome', sa.JSON(), nullable=False),
        sa.Column('correlation_id', sa.Text(), nullable=True, comment="a delivery's: the ingress ids of its records"),
        sa.Column('prev', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('seq', name=op.f('pk_exchange_log')),
        comment='the tamper-evident exchange log: each entry\'s hash covers the previous one',
    )
    op.create_index('ix_exchange_log_message', 'exchange_log', ['message_id'], unique=False)
    op.create_index('ix_exchange_log_at', 'exchange_log', ['at'], unique=False)
    head = op.create_table(
        'exchange_log_head',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_log_head')),
        comment='the exchange log\'s head (one row): serialises appends',
    )
    op.bulk_insert(head, [{'id': 1, 'seq': 0, 'hash': '0' * 64}])


def downgrade() -> None:
    op.drop_table('exchange_log_head')
    op.drop_index('ix_exchange_log_at', table_name='exchange_log')
    op.drop_index('ix_exchange_log_message', table_name='exchange_log')
    op.drop_table('exchange_log')
