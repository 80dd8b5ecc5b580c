"""One writer at a time on SQLite, and group commit for votes.

SQLite lets one connection write at a time; the others wait in its busy handler, which sleeps in 1-100 ms
steps, so under concurrent writes a write's latency jumps to seconds. Here the process's sessions take an
in-process lock before their first write and give it back at commit, rollback or close: writers queue in order
and without sleeping. (Other processes, such as a migration, still meet the busy timeout.)

Group commit: a press's vote is queued for the writer task, which takes every vote queued while the previous
commit ran and commits them in one transaction; each press awaits its batch's commit, so a vote is durable
before the resident reads "counted". The writer has a connection of its own (plain sqlite3, in one thread of
its own): a batch costs one hand-over to that thread, where each statement through aiosqlite costs several,
and the writer never waits for the pool. A press that holds the write lock commits before it waits.

PostgreSQL has row locks and no single writer: there every session writes on its own, without either."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.cache import TrackingSession

log = logging.getLogger(__name__)
T = TypeVar("T")
SyncWork = Callable[[Connection], T]

# A safety net, not a pace: a write waits this long for the lock before it fails (a bug that writes from two
# sessions of one task would otherwise wait for itself forever).
LOCK_WAIT = 60.0
_write_locks: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()
_group_commits: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()


def serialize_writes(engine: AsyncEngine, on_connect: Callable[..., None]) -> None:
    """Give `engine` (SQLite) one in-process writer at a time, and group commit for votes (`on_connect`: the
    pragmas of the writer's own connection). A private in-memory database has no second connection to it."""
    _write_locks[engine.sync_engine] = asyncio.Lock()
    if engine.url.database and engine.url.database != ":memory:":
        _group_commits[engine.sync_engine] = GroupCommit(engine, on_connect)


def close_group_commit(engine: AsyncEngine) -> None:
    writer = _group_commits.pop(engine.sync_engine, None)
    if writer is not None:
        writer.close()


def write_lock(sessions: async_sessionmaker[Any]) -> asyncio.Lock | None:
    """The in-process write lock of the database of `sessions`; None where writers need none (PostgreSQL).
    For code that writes without an AsyncSession of ours (APScheduler's synchronous job store)."""
    bind = sessions.kw.get("bind")
    return _write_locks.get(bind.sync_engine) if isinstance(bind, AsyncEngine) else None


def group_commit(session: AsyncSession) -> GroupCommit | None:
    """The group commit of the session's database, None where every session commits its own writes."""
    bind = session.bind
    return _group_commits.get(bind.sync_engine) if isinstance(bind, AsyncEngine) else None


class SerializedWriteSession(AsyncSession):
    """An AsyncSession that holds its engine's write lock (if it has one) from its first write to its end, and
    tells the caches what its transactions changed (storage/cache.py)."""

    sync_session_class = TrackingSession

    _holds_write_lock = False

    def __init__(self, bind: AsyncEngine | None = None, **options: Any) -> None:
        # Every update opens a session and most button presses never use it (their reads and votes go through
        # the caches' and the group commit's own connections): the ORM session behind it is made on first use
        # (__getattr__), not here, and closing one never made costs nothing. That was ~7 % of a press.
        self._async_bind = bind
        self._async_binds = {}
        self._options = options

    def __getattr__(self, name: str) -> Any:
        if name not in ("sync_session", "_proxied"):
            raise AttributeError(name)
        bind = self.__dict__["_async_bind"]
        options = self.__dict__["_options"]
        AsyncSession.__init__(self, bind, **options)  # sets sync_session and _proxied
        return self.__dict__[name]

    @property
    def bind(self) -> AsyncEngine | None:
        """The engine, without making the ORM session (the caches and the write lock look it up)."""
        return self._async_bind

    def _orm_session(self) -> Session | None:
        """The ORM session if it was made (first use), without making it."""
        return self.__dict__.get("sync_session")

    def _write_lock(self) -> asyncio.Lock | None:
        bind = self.bind
        return _write_locks.get(bind.sync_engine) if isinstance(bind, AsyncEngine) else None

    def holds_write_lock(self) -> bool:
        """True from the first write (or pending change) until commit or rollback."""
        return self._holds_write_lock or self._has_changes()

    def _has_changes(self) -> bool:
        sync = self._orm_session()
        return sync is not None and bool(sync.new or sync.dirty or sync.deleted)

    def in_transaction(self) -> bool:
        return self._orm_session() is not None and super().in_transaction()

    async def _before_write(self, statement: Any = None) -> None:
        if self._holds_write_lock:
            return
        if not (getattr(statement, "is_dml", False) or self._has_changes()):
            return
        lock = self._write_lock()
        if lock is None:
            return
        # The connection first, then the lock: a lock holder waiting for a pooled connection while the
        # connections' holders wait for the lock would wait forever.
        await self.connection()
        async with asyncio.timeout(LOCK_WAIT):
            await lock.acquire()
        self._holds_write_lock = True

    def _release_write_lock(self) -> None:
        if self._holds_write_lock:
            self._holds_write_lock = False
            lock = self._write_lock()
            if lock is not None:
                lock.release()

    async def exec(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        await self._before_write(statement)
        return await super().exec(statement, *args, **kwargs)

    async def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        await self._before_write(statement)
        return await super().execute(statement, *args, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        await self._before_write()  # autoflush
        return await super().get(*args, **kwargs)

    async def flush(self, objects: Any = None) -> None:
        await self._before_write()
        await super().flush(objects)

    async def commit(self) -> None:
        await self._before_write()
        try:
            await super().commit()
        finally:
            self._release_write_lock()

    async def rollback(self) -> None:
        try:
            await super().rollback()
        finally:
            self._release_write_lock()

    async def close(self) -> None:
        try:
            if self._orm_session() is not None:  # else never used: nothing to close
                await super().close()
        finally:
            self._release_write_lock()


class GroupCommit:
    """Runs queued pieces of work in one transaction per batch, on the writer's own connection in its own thread
    (see the module docstring). A piece of work is synchronous: it gets a SQLAlchemy Connection."""

    def __init__(self, engine: AsyncEngine, on_connect: Callable[..., None]) -> None:
        url = engine.url.set(drivername="sqlite")
        self.engine = create_engine(url, pool_size=1, max_overflow=0, connect_args={"check_same_thread": False})
        event.listen(self.engine, "connect", on_connect)
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="group-commit")
        self.lock = _write_locks[engine.sync_engine]
        self.queue: list[tuple[SyncWork[Any], asyncio.Future[Any]]] = []
        self.task: asyncio.Task[None] | None = None
        self.batches = 0  # for tests and benchmarks: how many transactions the queued work took

    async def run(self, work: SyncWork[T]) -> T:
        """Queue `work` for the next batch and return its result once the batch is committed."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.queue.append((work, future))
        if self.task is None or self.task.done():
            # Started on demand and ended when the queue is empty: nothing lingers after the last vote.
            self.task = asyncio.create_task(self._drain(), name="group-commit")
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self.queue:
            batch, self.queue = self.queue, []
            self.batches += 1
            async with asyncio.timeout(LOCK_WAIT):
                await self.lock.acquire()
            try:
                outcomes = await loop.run_in_executor(self.thread, self._commit, [work for work, _ in batch])
            except Exception as error:  # the connection itself failed: every press of the batch fails
                outcomes = [(False, error)] * len(batch)
            finally:
                self.lock.release()
            for (_work, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _commit(self, works: list[SyncWork[Any]]) -> list[tuple[bool, Any]]:
        """In the writer's thread: all in one transaction; if one fails, each alone (only its press fails)."""
        try:
            with self.engine.begin() as connection:
                return [(True, work(connection)) for work in works]
        except Exception:
            log.warning("a batch of %s writes failed; writing them one by one", len(works), exc_info=True)
        outcomes: list[tuple[bool, Any]] = []
        for work in works:
            try:
                with self.engine.begin() as connection:
                    outcomes.append((True, work(connection)))
            except Exception as error:
                outcomes.append((False, error))
        return outcomes

    def close(self) -> None:
        self.thread.shutdown(wait=False)
        self.engine.dispose()
