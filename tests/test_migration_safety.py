"""Migrations on start: all or nothing on SQLite, and one at a time when several processes start at once."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest
from sqlalchemy import text

from storage.db import _alembic_config, create_engine, migrate
from tests.conftest import starts_processes

pytestmark = starts_processes  # three first starts at once


async def test_three_processes_starting_at_once_all_migrate_cleanly(empty_database_url, tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "BOT_TOKEN"}
    env["DATABASE_URL"] = empty_database_url
    starts = [
        await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "migrate", cwd=tmp_path, env=env,
                                             stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        for _ in range(3)
    ]
    results = await asyncio.gather(*(process.communicate() for process in starts))
    for process, (stdout, stderr) in zip(starts, results, strict=True):
        assert process.returncode == 0, stderr.decode()
        assert b"up to date" in stdout
    engine = create_engine(empty_database_url)
    async with engine.connect() as connection:
        versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    await engine.dispose()
    assert len(versions) == 1


def _upgrade_to(connection, revision: str) -> None:
    from alembic import command

    command.upgrade(_alembic_config(connection), revision)


async def test_a_migration_failing_halfway_on_sqlite_leaves_the_old_version_intact(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade_to, "0002")
        # 0003 creates four tables, then this index name: the name taken makes it fail halfway.
        await connection.execute(text("CREATE INDEX ix_category_interest_category_id ON campaign (id)"))
    with pytest.raises(Exception, match="ix_category_interest_category_id"):
        await migrate(engine)
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one() == "0002"
        tables = (await connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))).scalars()
        assert "broadcast" not in set(tables), "the tables created before the failure were rolled back"
    async with engine.begin() as connection:
        await connection.execute(text("DROP INDEX ix_category_interest_category_id"))
    await migrate(engine)  # the next start succeeds
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM broadcast"))).scalar_one() == 0
    await engine.dispose()
