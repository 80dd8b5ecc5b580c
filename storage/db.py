"""Engine, sessions and migrations. Every command that touches the database calls `open_database`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession  # handlers import the session type from here

from storage.writer import SerializedWriteSession, serialize_writes

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

SessionFactory = async_sessionmaker[AsyncSession]


def async_url(url: str) -> str:
    """Accept the URL forms hosting platforms hand out and pick the async driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.drivername != "postgresql+asyncpg":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite" and parsed.drivername != "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend not in ("postgresql", "sqlite"):
        raise ValueError(f"unsupported database {backend!r}: use SQLite or PostgreSQL")
    return parsed.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The same database through a synchronous driver (for APScheduler's job store)."""
    parsed = make_url(async_url(url))
    driver = "sqlite" if parsed.get_backend_name() == "sqlite" else "postgresql+psycopg"
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers work while one writer commits; busy_timeout waits instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 64 MiB of page cache per connection (the default is 2 MiB): the vote and idea indexes of a campaign with
    # two million votes stay in memory.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


@dataclass(frozen=True)
class PoolSize:
    """Connections an engine keeps (`size`), opens beyond that under load (`overflow`), and how long a task
    waits for a free one (`timeout`, seconds). Nothing holds one connection while waiting for another, so
    the pool only has to be as large as the number of updates handled at once (README, Settings)."""

    size: int = 10
    overflow: int = 20
    timeout: float = 30.0


def create_engine(url: str, pool: PoolSize | None = None) -> AsyncEngine:
    url = async_url(url)
    pool = pool or PoolSize()
    options = {"pool_size": pool.size, "max_overflow": pool.overflow, "pool_timeout": pool.timeout}
    if url.startswith("sqlite"):
        engine = create_async_engine(url, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        serialize_writes(engine)
    else:
        engine = create_async_engine(url, pool_pre_ping=True, **options)
    return engine


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=SerializedWriteSession, expire_on_commit=False)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(_alembic_config(connection), "head")


async def migrate(engine: AsyncEngine) -> None:
    """Create or upgrade the schema to the newest migration (safe to run on every start)."""
    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table (copy, drop, rename): with foreign keys on, dropping `idea` would
            # cascade to every vote. The pragma only takes effect outside a transaction, so it comes first.
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.commit()  # ends SQLAlchemy's autobegun (empty) transaction
        async with connection.begin():
            await connection.run_sync(_upgrade)
        if sqlite:
            await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            await connection.commit()


async def open_database(url: str, pool: PoolSize | None = None) -> tuple[AsyncEngine, SessionFactory]:
    engine = create_engine(url, pool)
    await migrate(engine)
    return engine, session_factory(engine)


def run_migrations_cli(url: str) -> None:  # pragma: no cover - convenience for operators
    async def _main() -> None:
        engine = create_engine(url)
        await migrate(engine)
        await engine.dispose()

    asyncio.run(_main())
