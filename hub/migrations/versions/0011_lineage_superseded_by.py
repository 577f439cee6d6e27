"""lineage superseded_by/superseded_at: a corrected quarantine's lineage row is kept but not current

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-04 20:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lineage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('superseded_by', sa.BigInteger(), nullable=True,
                                      comment='the lineage row of the correction that replaced it'))
        batch_op.add_column(sa.Column('superseded_at', sa.DateTime(), nullable=True))
    # rows already corrected before this revision: the quarantine row names the original, the
    # correction's row names the quarantine
    fix = (
        "(SELECT MIN(c.{col}) FROM lineage c JOIN quarantine q ON c.correction_of = q.id "
        "WHERE q.lineage_id = lineage.id AND q.status = 'retried')"
    )
    op.execute(
        f"UPDATE lineage SET superseded_by = {fix.format(col='id')}, superseded_at = {fix.format(col='received_at')} "
        "WHERE superseded_by IS NULL AND outcome = 'quarantined'"
    )


def downgrade() -> None:
    with op.batch_alter_table('lineage', schema=None) as batch_op:
        batch_op.drop_column('superseded_at')
        batch_op.drop_column('superseded_by')
