"""aiogram FSM storage in the project's own database: the embedded default, so that conversations survive
a restart without Redis. With REDIS_URL set, aiogram's RedisStorage is used instead (bot/runner.py).

aiogram reads the state on every update, even a vote press. On SQLite (one bot process by design) every
conversation is also kept in memory — loaded once, then written through to the database — so that read costs
nothing. Only residents in the middle of a conversation have a row (a finished one is deleted), so this is
small. With PostgreSQL several processes may share the table, so every read goes to the database."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StateType, StorageKey

from storage import conversations
from storage.db import SessionFactory

Conversation = tuple[str | None, dict[str, Any]]
EMPTY: Conversation = (None, {})


class DatabaseStorage(BaseStorage):
    def __init__(self, sessions: SessionFactory, *, cache: bool | None = None) -> None:
        self.sessions = sessions
        self.key_builder = DefaultKeyBuilder(with_destiny=True)
        self.use_cache = sessions.kw["bind"].dialect.name == "sqlite" if cache is None else cache
        self.cache: dict[str, Conversation] | None = None  # every conversation, once loaded

    async def _load(self, key: str) -> Conversation:
        if self.use_cache:
            if self.cache is None:
                async with self.sessions() as session:
                    rows = await conversations.load_all(session)
                self.cache = {row.key: (row.state, conversations.decode_data(row)) for row in rows}
            return self.cache.get(key, EMPTY)
        async with self.sessions() as session:
            row = await conversations.load(session, key)
        return (row.state, conversations.decode_data(row)) if row else EMPTY

    async def _save(self, key: str, new: Conversation, **changed: Any) -> None:
        state, data = new
        async with self.sessions() as session:
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

    async def close(self) -> None:
        pass  # the engine belongs to the application, which disposes of it
