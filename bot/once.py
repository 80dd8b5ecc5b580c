"""Each Telegram update has its effects once, also when Telegram delivers it again.

Telegram redelivers a webhook update until it gets a 2xx, so an update whose worker was killed after
committing its effect but before answering arrives a second time. `UpdateOnceMiddleware` writes a mark
(storage/processed_updates.py) into the transaction of the update's first commit after the resident was
loaded, i.e. together with the vote, the submitted proposal or the moderator's decision; an update without
such a commit is marked when its handler returns. A marked update is skipped. If a worker dies before the
commit, nothing was written and the redelivered update is processed as if new: nothing lost.

Conversation steps live in the FSM storage (Redis or the database), outside that transaction: `OnceStorage`
writes the update id into the conversation data with the step, so a step whose update lost its mark to a
crash is still recognised (the text of a title never becomes the proposal's text on a redelivery).

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
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from aiogram.types import TelegramObject, Update
from sqlalchemy import event

from bot import metrics
from storage.processed_updates import mark_statement, was_processed

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

CURRENT_UPDATE: contextvars.ContextVar[int | None] = contextvars.ContextVar("current_update", default=None)
UPDATE_KEY = "_update_id"  # in conversation data: the update that wrote the last step


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
        token = CURRENT_UPDATE.set(update_id)
        try:
            result = await handler(event, data)
        except AlreadyProcessed:
            log.info("update %s was processed by another worker meanwhile: this run rolled back", update_id)
            metrics.DUPLICATE_UPDATES.inc()
            return None
        finally:
            CURRENT_UPDATE.reset(token)
            marker.detach()
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
    """Wraps the conversation storage: every data write records the update that made it."""

    def __init__(self, inner: BaseStorage) -> None:
        self.inner = inner

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await self.inner.set_state(key, state)

    async def get_state(self, key: StorageKey) -> str | None:
        return await self.inner.get_state(key)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        update_id = CURRENT_UPDATE.get()
        if data and update_id is not None:
            data = {**data, UPDATE_KEY: update_id}
        await self.inner.set_data(key, data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        data = await self.inner.get_data(key)
        data.pop(UPDATE_KEY, None)
        return data

    async def written_by(self, key: StorageKey) -> int | None:
        return (await self.inner.get_data(key)).get(UPDATE_KEY)

    async def close(self) -> None:
        await self.inner.close()
