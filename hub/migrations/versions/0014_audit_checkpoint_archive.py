"""audit_checkpoint (signed chain heads) and exchange_log_archive (archived segments)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 13:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'audit_checkpoint',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False, comment="the head entry's seq when it was taken"),
        sa.Column('head', sa.String(length=64), nullable=False, comment="that entry's hash"),
        sa.Column('at', sa.String(length=40), nullable=False, comment='ISO 8601 UTC with Z, as signed'),
        sa.Column('taken_at', sa.DateTime(), nullable=False, comment="hub time (CST), for the checkpoint's age"),
        sa.Column('signed', sa.JSON(), nullable=False,
                  comment='the checkpoint as signed: seq, head, at, hub, algorithm, signature, timestamp'),
        sa.Column('certificate', sa.Text(), nullable=False, comment="the hub's certificate (PEM) it was signed under"),
        sa.Column('tsa_certificate', sa.Text(), nullable=True, comment="the TSA's certificate (PEM), when time-stamped"),
        sa.Column('stamp_error', sa.Text(), nullable=True, comment='why a configured TSA gave no time-stamp'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint')),
        comment='signed chain heads of the exchange log',
    )
    op.create_index('ix_audit_checkpoint_seq', 'audit_checkpoint', ['seq'], unique=False)
    op.create_table(
        'exchange_log_archive',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('first_seq', sa.BigInteger(), nullable=False),
        sa.Column('last_seq', sa.BigInteger(), nullable=False, comment="a checkpoint's seq: the segment ends sealed"),
        sa.Column('last_hash', sa.String(length=64), nullable=False, comment="the last entry's hash: the next entry's prev"),
        sa.Column('first_at', sa.String(length=40), nullable=False),
        sa.Column('last_at', sa.String(length=40), nullable=False),
        sa.Column('entries', sa.BigInteger(), nullable=False),
        sa.Column('objects', sa.BigInteger(), nullable=False,
                  comment='message bytes packaged (and pruned from the store)'),
        sa.Column('path', sa.Text(), nullable=False, comment='the archive zip'),
        sa.Column('digest', sa.String(length=71), nullable=False, comment='sha256:<hex> of the archive zip'),
        sa.Column('archived_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_log_archive')),
        comment='segments of the exchange log archived and pruned',
    )


def downgrade() -> None:
    op.drop_table('exchange_log_archive')
    op.drop_index('ix_audit_checkpoint_seq', table_name='audit_checkpoint')
    op.drop_table('audit_checkpoint')
