"""One writer at a time on SQLite, and group commit for votes.

SQLite lets one connection write at a time; the others wait in its busy handler, which sleeps in 1-100 ms
steps, so under concurrent writes a write's latency jumps to seconds. Here the process's sessions take an
in-process lock before their first write and give it back at commit, rollback or close: writers queue in order
and without sleeping. (Other processes, such as a migration, still meet the busy timeout.)

Group commit: a press's vote is queued for the writer task, which takes every vote queued while the previous
commit ran and commits them in one transaction; each press awaits its batch's commit, so a vote is durable
before the resident reads "counted". A press hands its own connection back before it waits (no connection is
held while waiting for another: the writer needs one from the same pool).

PostgreSQL has row locks and no single writer: there every session writes on its own, without either."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger(__name__)
T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[T]]

# A safety net, not a pace: a write waits this long for the lock before it fails (a bug that writes from two
# sessions of one task would otherwise wait for itself forever).
LOCK_WAIT = 60.0
_write_locks: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()
_group_commits: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()


def serialize_writes(engine: AsyncEngine) -> None:
    """Give `engine` (SQLite) one in-process writer at a time, and group commit for votes."""
    _write_locks[engine.sync_engine] = asyncio.Lock()
    _group_commits[engine.sync_engine] = GroupCommit(
        async_sessionmaker(engine, class_=SerializedWriteSession, expire_on_commit=False))


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
    """An AsyncSession that holds its engine's write lock (if it has one) from its first write to its end."""

    _holds_write_lock = False

    def _write_lock(self) -> asyncio.Lock | None:
        bind = self.bind
        return _write_locks.get(bind.sync_engine) if isinstance(bind, AsyncEngine) else None

    def _has_changes(self) -> bool:
        sync = self.sync_session
        return bool(sync.new or sync.dirty or sync.deleted)

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
            await super().close()
        finally:
            self._release_write_lock()


class GroupCommit:
    """Runs queued pieces of work in one transaction per batch (see the module docstring)."""

    def __init__(self, sessions: async_sessionmaker[SerializedWriteSession]) -> None:
        self.sessions = sessions
        self.queue: list[tuple[Work[Any], asyncio.Future[Any]]] = []
        self.task: asyncio.Task[None] | None = None
        self.batches = 0  # for tests and benchmarks: how many transactions the queued work took

    async def run(self, work: Work[T]) -> T:
        """Queue `work` for the next batch and return its result once the batch is committed."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.queue.append((work, future))
        if self.task is None or self.task.done():
            # Started on demand and ended when the queue is empty: nothing lingers after the last vote.
            self.task = asyncio.create_task(self._drain(), name="group-commit")
        return await future

    async def _drain(self) -> None:
        while self.queue:
            batch, self.queue = self.queue, []
            self.batches += 1
            try:
                results = await self._commit_together(batch)
            except Exception:  # one piece failed: each runs alone, so only its own press fails
                log.warning("a batch of %s writes failed; writing them one by one", len(batch), exc_info=True)
                for work, future in batch:
                    await self._commit_alone(work, future)
                continue
            for (_work, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _commit_together(self, batch: list[tuple[Work[Any], asyncio.Future[Any]]]) -> list[Any]:
        async with self.sessions() as session:
            results = [await work(session) for work, _future in batch]
            await session.commit()
        return results

    async def _commit_alone(self, work: Work[Any], future: asyncio.Future[Any]) -> None:
        try:
            async with self.sessions() as session:
                result = await work(session)
                await session.commit()
        except Exception as error:
            if not future.done():
                future.set_exception(error)
            return
        if not future.done():
            future.set_result(result)
