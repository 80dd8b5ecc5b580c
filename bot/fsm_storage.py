"""aiogram FSM storage in the project's own database: the embedded default, so that conversations survive
a restart without Redis. With REDIS_URL set, aiogram's RedisStorage is used instead (bot/runner.py).

aiogram reads the state on every update, even a vote press. On SQLite (one bot process by design) every
conversation is also kept in memory — loaded once, then written through to the database — so that read costs
nothing. Only residents in the middle of a conversation have a row (a finished one is deleted), so this is
small. With PostgreSQL several processes may share the table, so every read goes to the database.

Inside an update, reads and writes go through the update's own session (`update_session`, set by
DatabaseSessionMiddleware): a second session would wait for a second pooled connection while the update holds
one, and enough concurrent updates doing that exhaust the pool and wait for each other forever."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StateType, StorageKey
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import conversations
from storage.db import SessionFactory

Conversation = tuple[str | None, dict[str, Any]]
EMPTY: Conversation = (None, {})
# The session of the update being handled, if any (see the module docstring).
update_session: ContextVar[AsyncSession | None] = ContextVar("update_session", default=None)


class DatabaseStorage(BaseStorage):
    def __init__(self, sessions: SessionFactory, *, cache: bool | None = None) -> None:
        self.sessions = sessions
        self.key_builder = DefaultKeyBuilder(with_destiny=True)
        self.use_cache = sessions.kw["bind"].dialect.name == "sqlite" if cache is None else cache
        self.cache: dict[str, Conversation] | None = None  # every conversation, once loaded
        self._cache_loading = asyncio.Lock()  # concurrent first updates load the table once, not once each

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        """The update's session when inside one, else a session of our own."""
        current = update_session.get()
        if current is not None:
            yield current
            return
        async with self.sessions() as session:
            yield session

    async def _load(self, key: str) -> Conversation:
        if self.use_cache:
            if self.cache is None:
                await self._load_cache()
            return self.cache.get(key, EMPTY)
        async with self._session() as session:
            row = await conversations.load(session, key)
        return (row.state, conversations.decode_data(row)) if row else EMPTY

    async def _load_cache(self) -> None:
        async with self._cache_loading:
            if self.cache is not None:
                return
            async with self._session() as session:
                rows = await conversations.load_all(session)
            self.cache = {row.key: (row.state, conversations.decode_data(row)) for row in rows}

    async def _save(self, key: str, new: Conversation, **changed: Any) -> None:
        state, data = new
        async with self._session() as session:
            await conversations.save(session, key, **changed)
            if state is None and not data:
                await conversations.forget_if_empty(session, key)
        if self.cache is not None:
            if state is None and not data:
                self.cache.pop(key, None)
            else:
                self.cache[key] = (state, data)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        built = self.key_builder.build(key)
        _old_state, data = await self._load(built)
        await self._save(built, (value, data), state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._load(self.key_builder.build(key)))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        built = self.key_builder.build(key)
        state, _old_data = await self._load(built)
        await self._save(built, (state, dict(data)), data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict((await self._load(self.key_builder.build(key)))[1])

    async def set_both(self, key: StorageKey, state: str | None, data: Mapping[str, Any]) -> None:
        """State and data in one statement (bot/once.py: a crash never leaves half a step)."""
        await self._save(self.key_builder.build(key), (state, dict(data)), state=state, data=dict(data))

    async def close(self) -> None:
        pass  # the engine belongs to the application, which disposes of it
