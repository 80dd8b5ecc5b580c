"""PostgreSQL: a vote, and the press path's reads on a cache miss, as one statement each on a few connections
of the process's own, in autocommit.

A vote through a session took BEGIN, UPDATE, INSERT and COMMIT, four round trips, and the idea's row stayed
locked from the UPDATE to the COMMIT. With 64 presses in the event loop, a transaction on a popular idea waited
for its turn while holding that lock, and every other press on the idea waited behind it (p95 0.9-1.5 s). Here a
vote is one statement that commits on its own: one round trip, the row locked only while PostgreSQL runs it.
The caches' reads on a miss (a resident, an idea's card: storage/cache.py) go the same way, without the ORM,
as they go on SQLite's own connection there.

The connections are not the engine's pool: a press never waits for a pooled connection while holding one of
these (a statement here waits for nothing of ours), and they need no pre-ping: a connection that died is
replaced and the statement sent again, which is safe because every statement here is idempotent (a read, or a
vote, which is not added twice)."""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

import asyncpg
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)
CONNECTIONS = 4  # per process, beyond the pool (README, "Settings": DB_POOL_SIZE)
# A connection cut while idle shows as any of these on its next statement.
_BROKEN = (OSError, asyncpg.exceptions.ConnectionDoesNotExistError, asyncpg.exceptions.InterfaceError,
           asyncpg.exceptions.InternalClientError, asyncpg.exceptions.ConnectionFailureError,
           asyncpg.exceptions.AdminShutdownError)
# SQLAlchemy's own options in the URL, not asyncpg's
_NOT_ASYNCPG = ("prepared_statement_cache_size", "prepared_statement_name_func", "async_creator_fn")
_direct: weakref.WeakKeyDictionary[Engine, DirectConnections] = weakref.WeakKeyDictionary()


class DirectConnections:
    def __init__(self, engine: AsyncEngine, size: int = CONNECTIONS) -> None:
        _args, params = engine.dialect.create_connect_args(engine.url)
        self.params = {key: value for key, value in params.items() if key not in _NOT_ASYNCPG}
        self.free = asyncio.Semaphore(size)
        self.idle: list[asyncpg.Connection] = []

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        """Run one idempotent statement (it commits on its own) and return its first row."""
        try:
            return await self._fetchrow(sql, args)
        except _BROKEN as error:  # the server restarted, or an idle connection was cut: once more, on a new one
            log.warning("a direct database connection broke (%s); sending the statement again",
                        type(error).__name__)
            return await self._fetchrow(sql, args)

    async def _fetchrow(self, sql: str, args: tuple[Any, ...]) -> asyncpg.Record | None:
        async with self.free:
            while self.idle and self.idle[-1].is_closed():
                self.idle.pop()
            connection = self.idle.pop() if self.idle else await asyncpg.connect(**self.params)
            try:
                row = await connection.fetchrow(sql, *args)
            except BaseException as error:
                # A statement that failed leaves the connection fine; one broken or cancelled mid-statement
                # is never used again.
                if isinstance(error, asyncpg.PostgresError) and not isinstance(error, _BROKEN) \
                        and not connection.is_closed():
                    self.idle.append(connection)
                else:
                    connection.terminate()
                raise
            self.idle.append(connection)
            return row

    async def close(self) -> None:
        idle, self.idle = self.idle, []
        for connection in idle:
            try:
                await connection.close(timeout=5)
            except Exception:  # closing anyway: the server may be gone
                connection.terminate()


def enable_direct_connections(engine: AsyncEngine) -> None:
    _direct[engine.sync_engine] = DirectConnections(engine)


def direct_connections(bind: Any) -> DirectConnections | None:
    """The direct connections of the session's engine (PostgreSQL), else None."""
    return _direct.get(bind.sync_engine) if isinstance(bind, AsyncEngine) else None


async def close_direct_connections(engine: AsyncEngine) -> None:
    direct = _direct.pop(engine.sync_engine, None)
    if direct is not None:
        await direct.close()
