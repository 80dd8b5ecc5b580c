"""Search index: the terms of each idea (word forms) and the typo keys of every term; filled for existing ideas.

Revision ID: 0008_i10_search
Revises: 0005_i9_safety
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from storage.search import key_rows, term_rows

revision: str = "0008_i10_search"
down_revision: str | None = "0005_i9_safety"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT_COLUMNS = "title_lv, title_ru, title_en, body_lv, body_ru, body_en"  # the order term_rows expects


def upgrade() -> None:
    search_term = op.create_table(
        "search_term",
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("term", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("in_title", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["idea_id"], ["idea.id"], name=op.f("fk_search_term_idea_id_idea"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("idea_id", "term", name=op.f("pk_search_term")),
    )
    op.create_index("ix_search_term_term", "search_term", ["term", "idea_id", "in_title"], unique=False)
    search_key = op.create_table(
        "search_key",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("term", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.PrimaryKeyConstraint("key", "term", name=op.f("pk_search_key")),
    )
    op.create_index("ix_idea_search_rank", "idea", ["id", "campaign_id", "status", "hidden", "supporters_count"],
                    unique=False)
    ideas = op.get_bind().execute(sa.text(f"SELECT id, {TEXT_COLUMNS} FROM idea")).all()
    postings = [row for idea_id, *texts in ideas for row in term_rows(idea_id, texts)]
    if postings:
        op.bulk_insert(search_term, [{"idea_id": i, "term": t, "in_title": title} for i, t, title in postings])
        keys = key_rows(term for _idea, term, _title in postings)
        op.bulk_insert(search_key, [{"key": key, "term": term} for key, term in sorted(keys)])


def downgrade() -> None:
    op.drop_index("ix_idea_search_rank", table_name="idea")
    op.drop_table("search_key")
    op.drop_index("ix_search_term_term", table_name="search_term")
    op.drop_table("search_term")
