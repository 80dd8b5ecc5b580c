"""aiogram FSM storage in the project's own database: the embedded default, so that conversations survive
a restart without Redis. With REDIS_URL set, aiogram's RedisStorage is used instead (bot/runner.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StateType, StorageKey

from storage import conversations
from storage.db import SessionFactory


class DatabaseStorage(BaseStorage):
    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions
        self.key_builder = DefaultKeyBuilder(with_destiny=True)

    def _key(self, key: StorageKey) -> str:
        return self.key_builder.build(key)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        async with self.sessions() as session:
            await conversations.save(session, self._key(key), state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        async with self.sessions() as session:
            row = await conversations.load(session, self._key(key))
            return row.state if row else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        async with self.sessions() as session:
            await conversations.save(session, self._key(key), data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self.sessions() as session:
            return conversations.decode_data(await conversations.load(session, self._key(key)))

    async def close(self) -> None:
        pass  # the engine belongs to the application, which disposes of it
