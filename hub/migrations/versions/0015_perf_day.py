"""perf_day, perf_case, perf_watermark (statistics and performance evaluation, 绩效统计)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 13:30:00
"""
from alembic import op
import sqlalchemy as sa

# Frozen here (a migration never follows later code): hub.domains.performance.tables at 0015.
MEASURES = ('received', 'accepted', 'not_accepted', 'immediate', 'online', 'express', 'finished', 'withdrawn', 'limited', 'on_time', 'overdue', 'past_legal', 'early', 'wd_sum', 'wd_n', 'speed_n', 'promised_sum', 'legal_sum', 'actual_sum', 'steps', 'special', 'bundles', 'evaluations', 'satisfied', 'bad', 'follow_ups', 'followed_in_time', 'yellow', 'red', 'supervised', 'supervised_closed', 'tickets', 'wait_sum_s', 'wait_n', 'served')
CASE_MEASURES = ('received', 'accepted', 'not_accepted', 'immediate', 'online', 'express', 'finished', 'withdrawn', 'limited', 'on_time', 'overdue', 'past_legal', 'early', 'wd_sum', 'wd_n', 'speed_n', 'promised_sum', 'legal_sum', 'actual_sum', 'steps', 'special', 'bundles')

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def _dim(name: str, length: int, label: str) -> sa.Column:
    return sa.Column(name, sa.String(length=length), server_default='', nullable=False, comment=label)


def upgrade() -> None:
    op.create_table(
        'perf_day',
        sa.Column('day', sa.Date(), nullable=False),
        _dim('region_code', 12, '行政区划代码'),
        _dim('dept_code', 64, '部门统一社会信用代码'),
        _dim('item_code', 64, '事项编码'),
        _dim('window_no', 32, '窗口编号'),
        _dim('handler_id', 64, '办理人员工号'),
        *(sa.Column(m, sa.BigInteger(), server_default=sa.text('0'), nullable=False) for m in MEASURES),
        sa.PrimaryKeyConstraint(
            'day', 'region_code', 'dept_code', 'item_code', 'window_no', 'handler_id', name=op.f('pk_perf_day')
        ),
        comment='绩效统计: day-level sums per region, department, item, window and handler',
    )
    op.create_table(
        'perf_case',
        sa.Column('case_id', sa.BigInteger(), autoincrement=False, nullable=False, comment='lib_case.id'),
        sa.Column('apply_day', sa.Date(), nullable=False),
        sa.Column('finish_day', sa.Date(), nullable=True),
        sa.Column('region_code', sa.String(length=12), nullable=False),
        sa.Column('dept_code', sa.String(length=64), nullable=False),
        sa.Column('item_code', sa.String(length=64), nullable=False),
        sa.Column('handler_id', sa.String(length=64), nullable=False, comment="受理 step's staff number, '' if none"),
        sa.Column(
            'working_days', sa.Integer(), nullable=True,
            comment='working days to finish, special procedures excluded',
        ),
        *(sa.Column(m, sa.Integer(), server_default=sa.text('0'), nullable=False) for m in CASE_MEASURES),
        sa.Column('computed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('case_id', name=op.f('pk_perf_case')),
        comment='绩效统计: one row per case, what perf_day sums',
    )
    op.create_index('ix_perf_case_apply_day', 'perf_case', ['apply_day'], unique=False)
    op.create_index('ix_perf_case_finish_day', 'perf_case', ['finish_day'], unique=False)
    op.create_table(
        'perf_watermark',
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('read_at', sa.DateTime(), nullable=True, comment='rows changed up to here are counted'),
        sa.Column('read_id', sa.BigInteger(), nullable=True, comment='append-only sources: the last id counted'),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('source', name=op.f('pk_perf_watermark')),
        comment='绩效统计: how far the performance refresh has read each source',
    )


def downgrade() -> None:
    op.drop_table('perf_watermark')
    op.drop_index('ix_perf_case_finish_day', table_name='perf_case')
    op.drop_index('ix_perf_case_apply_day', table_name='perf_case')
    op.drop_table('perf_case')
    op.drop_table('perf_day')
