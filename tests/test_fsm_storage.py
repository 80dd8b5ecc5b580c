"""Conversation state storage chosen by the settings: Redis when REDIS_URL is set (required in CI)."""

from __future__ import annotations

from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage

from bot.config import Settings
from bot.runner import create_fsm_storage
from tests.conftest import REDIS_URL, TEST_TOKEN, service_unavailable


def test_without_redis_the_default_storage_is_used():
    assert create_fsm_storage(Settings(bot_token=TEST_TOKEN)) is None


async def test_redis_storage_keeps_state_between_instances():
    settings = Settings(bot_token=TEST_TOKEN, redis_url=REDIS_URL)
    storage = create_fsm_storage(settings)
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
        other = create_fsm_storage(settings)
        assert await other.get_state(key) == "Proposal:title"
        assert await other.get_data(key) == {"category": 3, "title": "Atvērtie dati"}
        await other.close()
    finally:
        await storage.set_state(key, None)
        await storage.set_data(key, {})
        await storage.close()
