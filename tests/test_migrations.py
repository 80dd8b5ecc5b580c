"""Migrations: the schema they build is the models' schema, and upgrading a database with data keeps it."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from storage.db import _alembic_config, create_engine, migrate
from storage.models import metadata


def _upgrade_to(connection, revision: str) -> None:
    command.upgrade(_alembic_config(connection), revision)


def _differences(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, metadata)


async def test_migrations_build_exactly_the_models_schema(empty_database_url):
    engine = create_engine(empty_database_url)
    await migrate(engine)
    async with engine.connect() as connection:
        assert await connection.run_sync(_differences) == []
    await engine.dispose()


async def test_upgrading_a_database_with_votes_keeps_them(empty_database_url):
    engine = create_engine(empty_database_url)
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade_to, "0001")
        await connection.execute(text(
            "INSERT INTO campaign (id, slug, title_lv, starts_at, ends_at, votes_revocable, created_at) "
            "VALUES (1, 'c', 'K', '2026-11-16 00:00:00+00:00', '2026-12-20 00:00:00+00:00', true, "
            "'2026-11-01 00:00:00+00:00')"))
        await connection.execute(text(
            "INSERT INTO category (id, campaign_id, key, position, title_lv) VALUES (1, 1, 'k', 0, 'Kat')"))
        await connection.execute(text(
            "INSERT INTO idea (id, campaign_id, category_id, status, title_lv, search_text, supporters_count, "
            "created_at) VALUES (1, 1, 1, 'published', 'Ideja', 'ideja', 1, '2026-11-17 00:00:00+00:00')"))
        await connection.execute(text(
            "INSERT INTO resident (id, language, language_chosen, subscribed, created_at) "
            "VALUES (5, 'ru', false, true, '2026-11-17 00:00:00+00:00')"))
        await connection.execute(text(
            "INSERT INTO vote (idea_id, user_id, created_at) VALUES (1, 5, '2026-11-17 00:00:00+00:00')"))
    await migrate(engine)
    async with engine.connect() as connection:
        resident = (await connection.execute(text(
            "SELECT language, subscribed, notify_status, is_reachable, is_banned, reminders FROM resident"))).one()
        idea = (await connection.execute(text("SELECT supporters_count, hidden, version FROM idea"))).one()
        votes = (await connection.execute(text("SELECT count(*) FROM vote"))).scalar_one()
    # SQLite answers booleans as 0/1 to a plain SQL query.
    assert [resident[0], *map(bool, resident[1:])] == ["ru", True, True, True, False, False]
    assert (idea[0], bool(idea[1]), idea[2]) == (1, False, 1) and votes == 1
    await engine.dispose()
