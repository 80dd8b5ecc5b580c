"""Shared fixtures: databases (SQLite and PostgreSQL), a clock, and the example campaign.

PostgreSQL tests use the server at TEST_POSTGRES_URL (default: the local one). When it is unreachable they
are skipped on a developer's machine, but fail where REQUIRE_SERVICES=1 (CI sets it)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import create_bot, create_dispatcher
from bot.cli_chat import example_campaign_path
from bot.config import Settings
from bot.domain.campaign_file import load_campaign_file
from bot.domain.campaigns import import_campaign
from bot.i18n import create_i18n
from storage.db import SessionFactory, create_engine, migrate, session_factory
from tests.fake_telegram import FakeTelegram, Resident, feed_via_dispatcher

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SERVICES_REQUIRED = os.environ.get("REQUIRE_SERVICES") == "1"

# Inside the example campaign's dates (2026-11-16 .. 2026-12-20, Riga time).
CAMPAIGN_OPEN = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BEFORE_CAMPAIGN = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
AFTER_CAMPAIGN = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)


def service_unavailable(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error.__class__.__name__}: {error})"
    if SERVICES_REQUIRED:
        pytest.fail(message + "; REQUIRE_SERVICES=1, so this fails instead of skipping", pytrace=False)
    pytest.skip(message)


class Clock:
    """A settable clock handed to the dispatcher, so tests can open and close campaigns."""

    def __init__(self, now: datetime = CAMPAIGN_OPEN) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def _postgres_database() -> AsyncIterator[str]:
    """A fresh database on the PostgreSQL server for one test, dropped afterwards."""
    name = f"manabalss_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    except (OSError, Exception) as error:  # connection refused, auth, missing server
        await admin.dispose()
        service_unavailable("PostgreSQL", error)
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request, tmp_path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
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
async def sqlite_url(tmp_path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
async def sessions(database_url) -> AsyncIterator[SessionFactory]:
    """A migrated database (SQLite and PostgreSQL) and its session factory."""
    engine = create_engine(database_url)
    await migrate(engine)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def sqlite_sessions(sqlite_url) -> AsyncIterator[SessionFactory]:
    engine = create_engine(sqlite_url)
    await migrate(engine)
    yield session_factory(engine)
    await engine.dispose()


async def load_example(sessions: SessionFactory):
    async with sessions() as session:
        return await import_campaign(session, load_campaign_file(example_campaign_path()))


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
