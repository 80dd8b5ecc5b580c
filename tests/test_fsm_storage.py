"""Conversation state storage chosen by the settings: Redis when REDIS_URL is set (required in CI)."""

from __future__ import annotations

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage

from bot.config import Settings
from bot.fsm_storage import DatabaseStorage
from bot.runner import create_fsm_storage
from tests.conftest import REDIS_URL, TEST_TOKEN, service_unavailable


def test_without_redis_conversations_live_in_the_database(sqlite_sessions):
    assert isinstance(create_fsm_storage(Settings(bot_token=TEST_TOKEN), sqlite_sessions), DatabaseStorage)


@pytest.mark.parametrize("cache", [True, False])
async def test_database_storage_keeps_state_across_a_restart(sessions, cache):
    key = StorageKey(bot_id=42, chat_id=7001, user_id=7001)
    first = DatabaseStorage(sessions, cache=cache)
    assert await first.get_state(key) is None and await first.get_data(key) == {}
    await first.set_state(key, "Proposal:title")
    await first.update_data(key, {"category": 3, "title": "Atvērtie dati <b>&"})
    assert await first.get_state(key) == "Proposal:title"
    restarted = DatabaseStorage(sessions, cache=cache)
    assert await restarted.get_state(key) == "Proposal:title"
    assert await restarted.get_data(key) == {"category": 3, "title": "Atvērtie dati <b>&"}
    await restarted.set_state(key, None)
    assert await restarted.get_state(key) is None
    assert await restarted.get_data(key) == {"category": 3, "title": "Atvērtie dati <b>&"}  # data outlives state
    assert await DatabaseStorage(sessions, cache=cache).get_state(key) is None
    other_user = StorageKey(bot_id=42, chat_id=7002, user_id=7002)
    assert await first.get_data(other_user) == {}


async def test_without_the_cache_two_live_processes_see_each_others_writes(sessions):
    """PostgreSQL deployments may run several bot processes on one table: no cache there."""
    key = StorageKey(bot_id=42, chat_id=7003, user_id=7003)
    one, two = DatabaseStorage(sessions, cache=False), DatabaseStorage(sessions, cache=False)
    await one.set_state(key, "Proposal:body")
    assert await two.get_state(key) == "Proposal:body"
    await two.set_state(key, None)
    assert await one.get_state(key) is None


def test_the_cache_is_on_for_sqlite_only(sqlite_sessions):
    assert DatabaseStorage(sqlite_sessions).use_cache


async def test_a_finished_conversation_leaves_no_row(sessions):
    from sqlmodel import func, select

    from storage.models import ConversationState

    key = StorageKey(bot_id=42, chat_id=7004, user_id=7004)
    storage = DatabaseStorage(sessions)
    await storage.set_state(key, "Proposal:title")
    await storage.set_data(key, {"title": "x"})
    await storage.set_state(key, None)
    await storage.set_data(key, {})
    async with sessions() as session:
        assert (await session.exec(select(func.count()).select_from(ConversationState))).one() == 0
    assert await DatabaseStorage(sessions).get_state(key) is None


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


@pytest.mark.parametrize("backend", ["redis", "database"])
async def test_a_webhook_updates_step_is_written_whole_or_not_at_all(backend, sessions, redis_url):
    """bot/once.py: an update's state and data wait until its handler is done, then go in one write with the
    update's id. A worker killed before that leaves the previous step whole for the redelivered update; one
    killed between a title and the next step made the redelivered title count as the proposal's text."""
    from bot.once import PENDING_STEP, OnceStorage

    settings = Settings(bot_token=TEST_TOKEN, redis_url=redis_url if backend == "redis" else None)
    inner = create_fsm_storage(settings, sessions)
    worker, other_worker = OnceStorage(inner), OnceStorage(inner)
    key = StorageKey(bot_id=42, chat_id=7005, user_id=7005)
    await worker.set_state(key, "Proposal:title")
    await worker.set_data(key, {"category_id": 3})

    pending: dict = {}
    token = PENDING_STEP.set(pending)
    try:  # the title's update, in its handler
        await worker.set_data(key, {"category_id": 3, "title": "Atvērtie dati"})
        await worker.set_state(key, "Proposal:body")
        assert await worker.get_state(key) == "Proposal:body", "the handler reads its own writes"
        assert await worker.get_data(key) == {"category_id": 3, "title": "Atvērtie dati"}
    finally:
        PENDING_STEP.reset(token)
    # Killed here: nothing of the new step is stored, the old one is whole.
    assert await other_worker.get_state(key) == "Proposal:title"
    assert await other_worker.get_data(key) == {"category_id": 3}

    await worker.write_step(pending, update_id=77)
    assert await other_worker.get_state(key) == "Proposal:body"
    assert await other_worker.get_data(key) == {"category_id": 3, "title": "Atvērtie dati"}
    assert await other_worker.written_by(key) == 77
    await inner.close()
