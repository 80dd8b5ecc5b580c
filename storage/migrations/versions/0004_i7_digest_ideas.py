"""The ideas each weekly digest listed (digest_idea), recorded when the digest is written.

Revision ID: 0004_i7_digest_ideas
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004_i7_digest_ideas"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digest_idea",
        sa.Column("week", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["idea_id"], ["idea.id"], name=op.f("fk_digest_idea_idea_id_idea"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("week", "language", "idea_id", name=op.f("pk_digest_idea")),
    )


def downgrade() -> None:
    op.drop_table("digest_idea")
