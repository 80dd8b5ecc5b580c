"""Conversation state storage chosen by the settings: Redis when REDIS_URL is set (required in CI)."""

from __future__ import annotations

from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage

from bot.config import Settings
from bot.fsm_storage import DatabaseStorage
from bot.runner import create_fsm_storage
from tests.conftest import REDIS_URL, TEST_TOKEN, service_unavailable


def test_without_redis_conversations_live_in_the_database(sqlite_sessions):
    assert isinstance(create_fsm_storage(Settings(bot_token=TEST_TOKEN), sqlite_sessions), DatabaseStorage)


async def test_database_storage_keeps_state_between_instances(sessions):
    key = StorageKey(bot_id=42, chat_id=7001, user_id=7001)
    first = DatabaseStorage(sessions)
    assert await first.get_state(key) is None and await first.get_data(key) == {}
    await first.set_state(key, "Proposal:title")
    await first.update_data(key, {"category": 3, "title": "Atvērtie dati <b>&"})
    restarted = DatabaseStorage(sessions)
    assert await restarted.get_state(key) == "Proposal:title"
    assert await restarted.get_data(key) == {"category": 3, "title": "Atvērtie dati <b>&"}
    await restarted.set_state(key, None)
    assert await first.get_state(key) is None
    assert await first.get_data(key) == {"category": 3, "title": "Atvērtie dati <b>&"}  # data outlives state
    other_user = StorageKey(bot_id=42, chat_id=7002, user_id=7002)
    assert await first.get_data(other_user) == {}


async def test_redis_storage_keeps_state_between_instances():
    settings = Settings(bot_token=TEST_TOKEN, redis_url=REDIS_URL)
    storage = create_fsm_storage(settings, sessions=None)
    assert isinstance(storage, RedisStorage)
    key = StorageKey(bot_id=42, chat_id=7001, user_id=7001)
    try:
        await storage.redis.ping()
    except Exception as error:  # connection refused, timeout
        await storage.close()
        service_unavailable("Redis", error)
    try:
        await storage.set_state(key, "Proposal:title")
        await storage.set_data(key, {"category": 3, "title": "Atvērtie dati"})
        # A second process (or a restart) sees the same conversation.
        other = create_fsm_storage(settings, sessions=None)
        assert await other.get_state(key) == "Proposal:title"
        assert await other.get_data(key) == {"category": 3, "title": "Atvērtie dati"}
        await other.close()
    finally:
        await storage.set_state(key, None)
        await storage.set_data(key, {})
        await storage.close()
