"""Shared fixtures: databases (SQLite and PostgreSQL), a clock, and the example campaign.

PostgreSQL tests use the server at TEST_POSTGRES_URL (default: the local one), Redis tests the database at
TEST_REDIS_URL (default: redis://127.0.0.1:6379/13). When a server is unreachable its tests are skipped on a
developer's machine, but fail where REQUIRE_SERVICES=1 (CI sets it).

The suite runs in parallel processes (pytest-xdist, see pyproject.toml), so everything a test touches is its
own: SQLite files under tmp_path, a PostgreSQL database nobody else uses, the Redis database numbered
TEST_REDIS_URL's + the worker's number (gw0 → +0, gw1 → +1; flushdb empties only that one), fake Telegram servers
on ports the system picks. Two copies of the suite on one machine need two different TEST_REDIS_URL bases."""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bot.config import Settings
from bot.domain.campaign_file import load_campaign_file
from bot.domain.campaigns import import_campaign
from storage.db import SessionFactory, close_database, create_engine, migrate, session_factory, sync_url
from tests.fake_telegram import FakeTelegram, Resident, feed_via_dispatcher

# aiogram (bot.app, bot.i18n, bot.cli_chat) is imported where it is used: pytest-xdist's controller process loads
# this file too but runs no test, and importing aiogram costs seconds of CPU before the workers can start.

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
SERVICES_REQUIRED = os.environ.get("REQUIRE_SERVICES") == "1"
# "gw0", "gw1", … in a pytest-xdist worker; unset in a single process.
WORKER_NUMBER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))


def _redis_url_of_this_worker(base: str) -> str:
    server, _, database = base.rstrip("/").rpartition("/")
    if not database.isdigit():  # no database number in the URL: Redis's default, 0
        server, database = base.rstrip("/"), "0"
    return f"{server}/{int(database) + WORKER_NUMBER}"


REDIS_URL = _redis_url_of_this_worker(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13"))

# Inside the example campaign's dates (2026-11-16 .. 2026-12-20, Riga time).
CAMPAIGN_OPEN = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BEFORE_CAMPAIGN = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
AFTER_CAMPAIGN = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)


def service_unavailable(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error.__class__.__name__}: {error})"
    if SERVICES_REQUIRED:
        pytest.fail(message + "; REQUIRE_SERVICES=1, so this fails instead of skipping", pytrace=False)
    pytest.skip(message)


# How long a new Python process running the bot may take to start: it imports aiogram (seconds of CPU alone).
# Measured: over 120 s on the 2-core machine at load 15, with two copies of this suite running at once.
PROCESS_START_BOUND = 300
# The per-test timeout (pytest-timeout, pyproject.toml) for tests that start such processes.
starts_processes = pytest.mark.timeout(3 * PROCESS_START_BOUND)


async def eventually(condition: Callable[[], object | Awaitable[object]], *, what: str, timeout: float = 60,  # noqa: ASYNC109
                     interval: float = 0.05) -> None:
    """Polls ``condition`` until it is true. The bound only turns a hang into a failure that says what never
    happened: it is generous because a loaded 2-core machine runs work many times slower than an idle one."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still not the case after {timeout:g} s")
        await asyncio.sleep(interval)


class Clock:
    """A settable clock handed to the dispatcher, so tests can open and close campaigns."""

    def __init__(self, now: datetime = CAMPAIGN_OPEN) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


# ---------------------------------------------------------------- PostgreSQL


def _postgres_url(name: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def _postgres_database() -> AsyncIterator[str]:
    """A fresh, empty database on the PostgreSQL server for one test, dropped afterwards."""
    name = f"manabalss_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    except (OSError, Exception) as error:  # connection refused, auth, missing server
        await admin.dispose()
        service_unavailable("PostgreSQL", error)
    try:
        yield _postgres_url(name)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


# What a database's schema is, to tell whether a test changed it (then its database is not reused).
SCHEMA_FINGERPRINT = """
SELECT string_agg(part, E'\\n' ORDER BY part) FROM (
    SELECT format('column %s.%s %s %s %s', table_name, column_name, data_type, is_nullable, column_default)
    FROM information_schema.columns WHERE table_schema = 'public'
    UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL SELECT format('constraint %s %s', conrelid::regclass, pg_get_constraintdef(oid))
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    UNION ALL SELECT 'revision ' || version_num FROM alembic_version
) AS parts (part)
"""


class MigratedPostgresDatabases:
    """Migrated databases for the PostgreSQL tests of this process, each used by one test at a time.

    Creating, migrating and dropping a database costs the server seconds per test; so the first one is migrated
    once as a template, copies of it are made as needed, and after each test its database is emptied (rows
    deleted, sequences restarted: milliseconds) and handed to the next test. A database whose schema the test
    changed, or that cannot be emptied, is dropped instead. All of them are dropped when the process ends."""

    def __init__(self) -> None:
        self.prefix = f"manabalss_test_{uuid.uuid4().hex[:8]}"  # unique per process and per copy of the suite
        self.template: str | None = None
        self.fingerprint: str | None = None
        self.free: list[str] = []
        self.created: list[str] = []
        self._numbers = itertools.count()
        self._admin = create_sync_engine(sync_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT",
                                         poolclass=NullPool)

    async def take(self) -> str:
        if self.free:
            return self.free.pop()
        if self.template is None:
            try:
                name = self._create("")
            except (OSError, OperationalError) as error:  # connection refused, auth, missing server
                service_unavailable("PostgreSQL", error)
            engine = create_engine(_postgres_url(name))
            try:
                await migrate(engine)
            finally:
                await engine.dispose()
            self.template, self.fingerprint = name, self._describe_template(name)
        return self._create(f'TEMPLATE "{self.template}"')

    def give_back(self, name: str) -> None:
        try:
            self._empty(name)
        except Exception:  # a test left it in a state we cannot clean: a fresh copy is cheaper than a puzzle
            self._drop(name)
        else:
            self.free.append(name)

    def drop_all(self) -> None:
        for name in reversed(list(self.created)):
            self._drop(name)
        self._admin.dispose()

    def _create(self, options: str) -> str:
        name = f"{self.prefix}_{next(self._numbers)}"
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" {options}'))
        self.created.append(name)
        return name

    def _drop(self, name: str) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.created.remove(name)

    def _connect(self, name: str):
        return create_sync_engine(sync_url(_postgres_url(name)), poolclass=NullPool).begin()

    @staticmethod
    def _fingerprint(connection) -> str:
        return connection.execute(text(SCHEMA_FINGERPRINT)).scalar_one()

    @staticmethod
    def _tables(connection) -> list[str]:
        return list(connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )).scalars())

    def _describe_template(self, name: str) -> str:
        with self._connect(name) as connection:
            # Emptying is only a reset while the migrations write no rows of their own (none does today).
            if any(connection.execute(text(f'SELECT EXISTS (SELECT FROM "{table}")')).scalar_one()
                   for table in self._tables(connection)):
                return "the migrations write rows: every test gets a fresh copy"
            return self._fingerprint(connection)

    def _empty(self, name: str) -> None:
        with self._admin.connect() as connection:  # connections a test left open (or a killed process's)
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
        with self._connect(name) as connection:
            if self._fingerprint(connection) != self.fingerprint:
                raise RuntimeError(f"the test changed the schema of {name}")
            # As a replica the session skips foreign-key triggers, so the order of the deletes is free.
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            for table in self._tables(connection):
                connection.execute(text(f'DELETE FROM "{table}"'))
            connection.execute(text("SELECT setval(format('%I.%I', schemaname, sequencename), 1, false) "
                                    "FROM pg_sequences WHERE schemaname = 'public'"))


@pytest.fixture(scope="session")
def postgres_databases() -> MigratedPostgresDatabases:
    databases = MigratedPostgresDatabases()  # connects only when a test asks for a database
    yield databases
    databases.drop_all()


# ---------------------------------------------------------------- SQLite


class MigratedSqliteTemplate:
    """One migrated SQLite database per process, copied for each test (Alembic costs a fifth of a second)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "migrated.db"
        self._built = False

    async def copy_to(self, target: Path) -> str:
        if not self._built:
            engine = create_engine(f"sqlite+aiosqlite:///{self.path}")
            await migrate(engine)
            await engine.dispose()
            self._built = True
        # The backup API copies a consistent database, whatever may still be in the write-ahead log.
        original, copy = sqlite3.connect(self.path), sqlite3.connect(target)
        try:
            original.backup(copy)
        finally:
            original.close()
            copy.close()
        return f"sqlite+aiosqlite:///{target}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> MigratedSqliteTemplate:
    return MigratedSqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture
async def sqlite_url(sqlite_template, tmp_path) -> str:
    """A migrated SQLite database file, the test's own."""
    return await sqlite_template.copy_to(tmp_path / "test.db")


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request, sqlite_template, postgres_databases, tmp_path) -> AsyncIterator[str]:
    """A migrated database of either kind, the test's own."""
    if request.param == "sqlite":
        yield await sqlite_template.copy_to(tmp_path / "test.db")
        return
    name = await postgres_databases.take()
    try:
        yield _postgres_url(name)
    finally:
        postgres_databases.give_back(name)


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database_url(request, tmp_path) -> AsyncIterator[str]:
    """An empty database of either kind (for the tests of the migrations themselves)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    async for url in _postgres_database():
        yield url


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database (for tests that need PostgreSQL only)."""
    async for url in _postgres_database():
        yield url


@pytest.fixture
async def redis_url() -> str:
    """The test Redis database (TEST_REDIS_URL), emptied first."""
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        await client.flushdb()
    except Exception as error:
        service_unavailable("Redis", error)
    finally:
        await client.aclose()
    return REDIS_URL


@pytest.fixture
async def sessions(database_url) -> AsyncIterator[SessionFactory]:
    """A migrated database (SQLite and PostgreSQL) and its session factory."""
    engine = create_engine(database_url)
    yield session_factory(engine)
    await close_database(engine)


@pytest.fixture
async def sqlite_sessions(sqlite_url) -> AsyncIterator[SessionFactory]:
    engine = create_engine(sqlite_url)
    yield session_factory(engine)
    await engine.dispose()


@functools.cache
def _example_campaign():
    """Parsed and validated once per process (the YAML reader costs 50 ms a test); the import reads it only."""
    from bot.cli_chat import example_campaign_path

    return load_campaign_file(example_campaign_path())


async def load_example(sessions: SessionFactory):
    async with sessions() as session:
        return await import_campaign(session, _example_campaign())


@pytest.fixture
async def example_sessions(sessions) -> SessionFactory:
    await load_example(sessions)
    return sessions


TEST_TOKEN = "4242424242:AAEfakeTokenForTestsOnly_abcdefghijklm"
BOT_USERNAME = "manabalss_test_bot"


class App:
    """The real bot (aiogram's HTTP session) talking to the fake Bot API server, on a migrated database."""

    def __init__(self, fake: FakeTelegram, sessions: SessionFactory, clock: Clock, *, fsm_storage=None,
                 **settings) -> None:
        self.fake = fake
        self.sessions = sessions
        self.clock = clock
        from bot.app import create_bot, create_dispatcher
        from bot.i18n import create_i18n

        # Stories send many messages into one chat in a row: Telegram's 1/s per chat would make them slow (the
        # fake enforces no limit unless a test switches it on; tests/test_crowd.py checks the real pace).
        settings.setdefault("chat_replies_per_second", 1000.0)
        self.settings = Settings(bot_token=TEST_TOKEN, telegram_api_url=fake.base_url, **settings)
        self.bot = create_bot(self.settings)
        self.dp = create_dispatcher(self.settings, sessions, create_i18n(), clock=clock, fsm_storage=fsm_storage)
        self.feed = feed_via_dispatcher(self.dp, self.bot)
        self._next_user_id = 1000

    def resident(self, language_code: str | None = "lv", user_id: int | None = None, **kwargs) -> Resident:
        if user_id is None:
            self._next_user_id += 1
            user_id = self._next_user_id
        return Resident(self.fake, self.feed, user_id, language_code=language_code, **kwargs)

    async def close(self) -> None:
        await self.bot.session.close()


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TEST_TOKEN, bot_username=BOT_USERNAME) as fake:
        yield fake


@pytest.fixture
async def app(fake_telegram, sqlite_sessions, clock) -> AsyncIterator[App]:
    await load_example(sqlite_sessions)
    application = App(fake_telegram, sqlite_sessions, clock)
    yield application
    await application.close()
    # Telegram's rule checked after every story: no button press was left unanswered.
    assert not fake_telegram.unanswered_callbacks(), fake_telegram.unanswered_callbacks()
