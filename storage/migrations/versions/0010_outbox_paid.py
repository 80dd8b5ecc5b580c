"""Outbox: `paid` (a row of the kinds sent as paid broadcasts) and the index the sender claims paid and free rows
by, apart: with PAID_BROADCAST_RATE a claim of free rows stepped through a whole paid broadcast before (SQLite:
0.76 s and 64 MiB of page cache a claim with 100,000 waiting).

Revision ID: 0010_outbox_paid
Revises: 0006_i11_plan
Create Date: 2026-11-29 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010_outbox_paid'
down_revision: str | None = '0006_i11_plan'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paid', sa.Boolean(), server_default=sa.false(), nullable=False))
    # storage.outbox.PAID_KINDS when this was written.
    op.execute("UPDATE outbox SET paid = true WHERE kind IN ('broadcast', 'digest', 'results')")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due_paid', ['status', 'paid', 'priority', 'not_before', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due_paid')
        batch_op.drop_column('paid')
