"""aiogram FSM storage in the project's own database: the embedded default, so that conversations survive
a restart without Redis. With REDIS_URL set, aiogram's RedisStorage is used instead (bot/runner.py).

aiogram reads the state on every update, even a vote press. On SQLite (one bot process by design) the states
are also kept in memory, written through to the database, so that read costs nothing; with PostgreSQL several
processes may share the table, so every read goes to the database."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StateType, StorageKey

from storage import conversations
from storage.db import SessionFactory

CACHE_SIZE = 50_000  # residents whose conversation is kept in memory (a few hundred bytes each)


class DatabaseStorage(BaseStorage):
    def __init__(self, sessions: SessionFactory, *, cache: bool | None = None) -> None:
        self.sessions = sessions
        self.key_builder = DefaultKeyBuilder(with_destiny=True)
        if cache is None:
            cache = sessions.kw["bind"].dialect.name == "sqlite"
        self.cache: OrderedDict[str, tuple[str | None, dict[str, Any]]] | None = OrderedDict() if cache else None

    async def _load(self, key: str) -> tuple[str | None, dict[str, Any]]:
        if self.cache is not None and key in self.cache:
            self.cache.move_to_end(key)
            return self.cache[key]
        async with self.sessions() as session:
            row = await conversations.load(session, key)
        value = (row.state if row else None, conversations.decode_data(row))
        self._remember(key, value)
        return value

    def _remember(self, key: str, value: tuple[str | None, dict[str, Any]]) -> None:
        if self.cache is None:
            return
        self.cache[key] = value
        self.cache.move_to_end(key)
        if len(self.cache) > CACHE_SIZE:
            self.cache.popitem(last=False)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        built = self.key_builder.build(key)
        async with self.sessions() as session:
            await conversations.save(session, built, state=value)
        if self.cache is not None and built in self.cache:
            self._remember(built, (value, self.cache[built][1]))
        else:
            self.cache is not None and self.cache.pop(built, None)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._load(self.key_builder.build(key)))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        built = self.key_builder.build(key)
        async with self.sessions() as session:
            await conversations.save(session, built, data=dict(data))
        if self.cache is not None and built in self.cache:
            self._remember(built, (self.cache[built][0], dict(data)))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict((await self._load(self.key_builder.build(key)))[1])

    async def close(self) -> None:
        pass  # the engine belongs to the application, which disposes of it
