"""The category page's indexes include `hidden`, so counting and paging a category's public ideas reads the
index only (issue 8: pages at scale).

Revision ID: 0007_i8_indexes
Revises: 0008_i10_search
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_i8_indexes"
down_revision: str | None = "0008_i10_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = {"ix_idea_category_support": ["category_id", "status", "supporters_count"],
       "ix_idea_category_created": ["category_id", "status", "created_at"]}
NEW = {"ix_idea_category_support": ["category_id", "status", "hidden", "supporters_count"],
       "ix_idea_category_created": ["category_id", "status", "hidden", "created_at"]}


def _replace(indexes: dict[str, list[str]]) -> None:
    for name, columns in indexes.items():
        op.drop_index(name, table_name="idea")
        op.create_index(name, "idea", columns, unique=False)


def upgrade() -> None:
    _replace(NEW)


def downgrade() -> None:
    _replace(OLD)
