"""Engine, sessions and migrations. Every command that touches the database calls `open_database`."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession  # handlers import the session type from here

from storage.cache import CacheConfig, enable_caches
from storage.pg_direct import close_direct_connections, enable_direct_connections
from storage.writer import SerializedWriteSession, close_group_commit, serialize_writes

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


def _sqlite_side_pragmas(dbapi_connection, record) -> None:
    """The press path's own connections (the caches' reader, the group commit's writer: storage/cache.py,
    storage/writer.py) read and write a few rows by key: 8 MiB of page cache each is enough, and keeps the
    process's memory bounded (at 64 MiB each the bot passed 300 MiB after a burst at ManaBalss scale). The
    operating system keeps the file's pages cached anyway."""
    _sqlite_pragmas(dbapi_connection, record)
    dbapi_connection.execute("PRAGMA cache_size=-8192")


@dataclass(frozen=True)
class PoolSize:
    """Connections an engine keeps (`size`), opens beyond that under load (`overflow`), and how long a task
    waits for a free one (`timeout`, seconds). Nothing holds one connection while waiting for another, so
    the pool only has to be as large as the number of updates handled at once (README, Settings)."""

    size: int = 10
    overflow: int = 20
    timeout: float = 30.0


def create_engine(url: str, pool: PoolSize | None = None, caches: CacheConfig | None = None) -> AsyncEngine:
    """`caches`: sizes of the press path's caches and the Redis that keeps them right across processes
    (storage/cache.py); the defaults without one."""
    url = async_url(url)
    pool = pool or PoolSize()
    options = {"pool_size": pool.size, "max_overflow": pool.overflow, "pool_timeout": pool.timeout}
    if url.startswith("sqlite"):
        engine = create_async_engine(url, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        serialize_writes(engine, _sqlite_side_pragmas)
    else:
        engine = create_async_engine(url, pool_pre_ping=True, **options)
        enable_direct_connections(engine)
    enable_caches(engine, caches or CacheConfig(), _sqlite_side_pragmas)
    return engine


async def close_database(engine: AsyncEngine) -> None:
    """Close the engine's pool and the connections its writers keep of their own (storage/writer.py,
    storage/pg_direct.py)."""
    await close_direct_connections(engine)
    close_group_commit(engine)
    await engine.dispose()


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=SerializedWriteSession, expire_on_commit=False)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest migration: a database at it is current."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def _upgrade(connection: Connection) -> None:
    command.upgrade(_alembic_config(connection), "head")


# Any number: the key of the PostgreSQL advisory lock that lets one starting process migrate at a time.
MIGRATION_LOCK_KEY = 7_346_921_008


async def migrate(engine: AsyncEngine) -> None:
    """Create or upgrade the schema to the newest migration (safe to run on every start).

    Atomic, and safe when several processes start at once: one process migrates at a time (an advisory lock
    on PostgreSQL, a file lock next to the SQLite file) and the others then find the schema up to date; all
    of a run's migrations commit together or not at all."""
    if engine.dialect.name == "sqlite":
        await _migrate_sqlite(engine)
        return
    async with engine.connect() as connection, connection.begin():
        await connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
        await connection.run_sync(_upgrade)


async def _migrate_sqlite(engine: AsyncEngine) -> None:
    database = engine.url.database
    if not database or database == ":memory:":  # a private in-memory database: nobody else can start on it
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade)
        return
    with await asyncio.to_thread(_exclusive_file_lock, Path(database + ".migrate-lock")):
        migrating = _transactional_sqlite_engine(engine.url)
        try:
            async with migrating.begin() as connection:
                await connection.run_sync(_upgrade)
        finally:
            await migrating.dispose()


def _transactional_sqlite_engine(url) -> AsyncEngine:
    """A one-connection engine whose transactions really include DDL: Python's sqlite3 module commits before
    every CREATE/ALTER/DROP, so a migration failing halfway would leave tables without their version."""
    engine = create_async_engine(url, poolclass=NullPool)

    def connect(dbapi_connection, record) -> None:
        _sqlite_pragmas(dbapi_connection, record)
        # Batch mode rebuilds a table (copy, drop, rename): with foreign keys on, dropping `idea` would cascade
        # to every vote. The pragma only takes effect outside a transaction, so it is set here.
        dbapi_connection.cursor().execute("PRAGMA foreign_keys=OFF")
        dbapi_connection.isolation_level = None  # no implicit commits: we BEGIN ourselves

    def begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine.sync_engine, "connect", connect)
    event.listen(engine.sync_engine, "begin", begin)
    return engine


@contextlib.contextmanager
def _held(lock_file: IO[bytes]) -> Iterator[None]:
    try:
        yield
    finally:
        fcntl.flock(lock_file, fcntl.LOCK_UN)
        lock_file.close()


def _exclusive_file_lock(path: Path) -> contextlib.AbstractContextManager[None]:
    """Block until this process holds the lock file (in a thread: it may wait for another's migration)."""
    lock_file = path.open("ab")
    fcntl.flock(lock_file, fcntl.LOCK_EX)
    return _held(lock_file)


async def open_database(url: str, pool: PoolSize | None = None, caches: CacheConfig | None = None
                        ) -> tuple[AsyncEngine, SessionFactory]:
    engine = create_engine(url, pool, caches)
    await migrate(engine)
    return engine, session_factory(engine)


def run_migrations_cli(url: str) -> None:  # pragma: no cover - convenience for operators
    async def _main() -> None:
        engine = create_engine(url)
        await migrate(engine)
        await close_database(engine)

    asyncio.run(_main())
