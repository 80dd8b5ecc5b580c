"""Issue 9: a proposal's draft key (submitted once), approval of mass broadcasts.

Revision ID: 0005_i9_safety
Revises: 0004_i7_digest_ideas
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.models

revision: str = "0005_i9_safety"
down_revision: str | None = "0004_i7_digest_ideas"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idea", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submission_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_idea_submission_key"), ["submission_key"])
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.add_column(sa.Column("awaiting_approval", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("approved_by", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("approved_at", storage.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.drop_column("approved_at")
        batch_op.drop_column("approved_by")
        batch_op.drop_column("awaiting_approval")
    with op.batch_alter_table("idea", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_idea_submission_key"), type_="unique")
        batch_op.drop_column("submission_key")
