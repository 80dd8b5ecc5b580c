"""Each Telegram update has its effects once, also when Telegram delivers it again.

Telegram redelivers a webhook update until it gets a 2xx, so an update whose worker was killed after
committing its effect but before answering arrives a second time. `UpdateOnceMiddleware` writes a mark
(storage/processed_updates.py) into the transaction of the update's first commit after the resident was
loaded, i.e. together with the vote, the submitted proposal or the moderator's decision; an update without
such a commit is marked when its handler returns. A marked update is skipped. If a worker dies before the
commit, nothing was written and the redelivered update is processed as if new: nothing lost.

Conversation steps live in the FSM storage (Redis or the database), outside that transaction: `OnceStorage`
keeps an update's state and data writes until its handler is done, then writes them together with the update
id in one step (a Redis MULTI, one database statement). So a step whose update lost its mark to a crash is
still recognised, and no crash leaves half a step: a worker killed between writing a title and moving on to
the text step made the redelivered title count as the text.

Two workers handling the same update at once (a redelivery while the first still works) cannot both commit:
the second insert of the mark waits for the first transaction and then finds the mark, so its commit fails
and its effect is rolled back."""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import TelegramObject, Update
from sqlalchemy import event

from bot import metrics
from bot.fsm_storage import DatabaseStorage
from storage.processed_updates import mark_statement, was_processed

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

UPDATE_KEY = "_update_id"  # in conversation data: the update that wrote the last step
# The conversation writes of the update being handled, by storage key: {"state": ..., "data": ...}.
PENDING_STEP: contextvars.ContextVar[dict[StorageKey, dict[str, Any]] | None] = contextvars.ContextVar(
    "pending_step", default=None)


class AlreadyProcessed(Exception):
    """Another worker committed this update's effect first."""


class UpdateOnceMiddleware(BaseMiddleware):
    """An outer middleware on updates, registered after the resident's (their first-contact commit is not the
    update's effect)."""

    async def __call__(self, handler: Handler, event: Update, data: dict[str, Any]) -> Any:
        session = data["session"]
        update_id = event.update_id
        if await was_processed(session, update_id) or await _step_written_by(data, update_id):
            log.info("update %s was delivered again: its effect is done, skipped", update_id)
            metrics.DUPLICATE_UPDATES.inc()
            await _mark_now(session, update_id)
            if event.callback_query is not None:  # its worker may have died before answering: stop the spinner
                with contextlib.suppress(TelegramAPIError):
                    await event.callback_query.answer()
            return None
        marker = _CommitMarker(session, update_id)
        pending: dict[StorageKey, dict[str, Any]] = {}
        pending_token = PENDING_STEP.set(pending)
        try:
            result = await handler(event, data)
        except AlreadyProcessed:
            log.info("update %s was processed by another worker meanwhile: this run rolled back", update_id)
            metrics.DUPLICATE_UPDATES.inc()
            pending.clear()  # its step too: the other worker wrote it
            return None
        finally:
            PENDING_STEP.reset(pending_token)
            marker.detach()
            storage = data.get("fsm_storage")
            if pending and isinstance(storage, OnceStorage):
                await storage.write_step(pending, update_id)
        if not marker.marked:
            await _mark_now(session, update_id)
        return result


class _CommitMarker:
    """Adds the mark to the session's next commit (the update's effect)."""

    def __init__(self, session, update_id: int) -> None:
        self.sync_session = session.sync_session
        self.update_id = update_id
        self.marked = False
        event.listen(self.sync_session, "before_commit", self._before_commit)

    def _before_commit(self, sync_session) -> None:
        if self.marked:
            return
        self.marked = True
        statement = mark_statement(sync_session.get_bind().dialect.name, self.update_id)
        if sync_session.execute(statement).rowcount == 0:
            raise AlreadyProcessed(self.update_id)

    def detach(self) -> None:
        if event.contains(self.sync_session, "before_commit", self._before_commit):
            event.remove(self.sync_session, "before_commit", self._before_commit)


async def _mark_now(session, update_id: int) -> None:
    await session.rollback()  # whatever the handler left uncommitted is not part of the mark
    await session.exec(mark_statement(session.bind.dialect.name, update_id))
    await session.commit()


async def _step_written_by(data: dict[str, Any], update_id: int) -> bool:
    """Whether the resident's conversation step was written by this very update."""
    state: FSMContext | None = data.get("state")
    if state is None or data.get("raw_state") is None or not isinstance(state.storage, OnceStorage):
        return False
    return await state.storage.written_by(state.key) == update_id


class OnceStorage(BaseStorage):
    """Wraps the conversation storage: inside an update (UpdateOnceMiddleware) the writes wait in PENDING_STEP
    and reads see them; `write_step` then writes them at once, with the update id in the data."""

    def __init__(self, inner: BaseStorage) -> None:
        self.inner = inner

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        pending = PENDING_STEP.get()
        if pending is None:
            await self.inner.set_state(key, value)
        else:
            pending.setdefault(key, {})["state"] = value

    async def get_state(self, key: StorageKey) -> str | None:
        written = (PENDING_STEP.get() or {}).get(key, {})
        return written["state"] if "state" in written else await self.inner.get_state(key)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        pending = PENDING_STEP.get()
        if pending is None:
            await self.inner.set_data(key, dict(data))
        else:
            pending.setdefault(key, {})["data"] = dict(data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        written = (PENDING_STEP.get() or {}).get(key, {})
        data = dict(written["data"]) if "data" in written else await self.inner.get_data(key)
        data.pop(UPDATE_KEY, None)
        return data

    async def written_by(self, key: StorageKey) -> int | None:
        return (await self.inner.get_data(key)).get(UPDATE_KEY)

    async def write_step(self, pending: dict[StorageKey, dict[str, Any]], update_id: int) -> None:
        for key, written in pending.items():
            data = written["data"] if "data" in written else await self.inner.get_data(key)
            if data:  # an emptied conversation (the end of a flow) keeps no mark: done again, it changes nothing
                data = {**data, UPDATE_KEY: update_id}
            state = written["state"] if "state" in written else await self.inner.get_state(key)
            await _write_both(self.inner, key, state, data)

    async def close(self) -> None:
        await self.inner.close()


async def _write_both(storage: BaseStorage, key: StorageKey, state: str | None, data: dict[str, Any]) -> None:
    """State and data in one write: a MULTI on Redis, one statement in the database."""
    if isinstance(storage, RedisStorage):
        state_key, data_key = storage.key_builder.build(key, "state"), storage.key_builder.build(key, "data")
        async with storage.redis.pipeline(transaction=True) as both:
            if state is None:
                both.delete(state_key)
            else:
                both.set(state_key, state, ex=storage.state_ttl)
            if data:
                both.set(data_key, storage.json_dumps(data), ex=storage.data_ttl)
            else:
                both.delete(data_key)
            await both.execute()
    elif isinstance(storage, DatabaseStorage):
        await storage.set_both(key, state, data)
    else:  # aiogram's MemoryStorage in tests: nothing to crash between
        await storage.set_data(key, data)
        await storage.set_state(key, state)
