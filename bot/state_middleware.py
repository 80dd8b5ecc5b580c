"""aiogram's FSM middleware, without the conversation read for button presses.

aiogram reads the conversation state for every update (and, with Redis, takes the resident's event lock first).
Presses of the voting and browsing buttons (`stateless_press`) are routed without it (no handler of theirs has a
state filter, and none reads or writes the conversation), so they get an unread FSMContext and no lock: a vote is
safe without the lock (the database's keys make it atomic), and a proposal half written meanwhile stays as it
is, since nothing here touches it. Every other update goes through aiogram's middleware unchanged."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.types import Update

from bot.ui import callbacks as cb

_SEP = cb.IdeaAction.__separator__
STATELESS_ACTS = frozenset({cb.ACT_OPEN, cb.ACT_SUPPORT, cb.ACT_WITHDRAW, cb.ACT_WHY_CLOSED})


def stateless_press(data: str | None) -> bool:
    """A press of a voting or browsing button (an idea card's open/support/withdraw/why, a list page)."""
    if not data:
        return False
    prefix, _, rest = data.partition(_SEP)
    if prefix == cb.IdeaList.__prefix__:
        return True
    return prefix == cb.IdeaAction.__prefix__ and rest.partition(_SEP)[0] in STATELESS_ACTS


class PressFSMContextMiddleware(FSMContextMiddleware):
    async def __call__(self, handler: Any, event: Any, data: dict[str, Any]) -> Any:
        query = event.callback_query if isinstance(event, Update) else None
        if query is None or not stateless_press(query.data):
            return await super().__call__(handler, event, data)
        data["fsm_storage"] = self.storage
        context = self.resolve_event_context(data["bot"], data)
        if context is not None:
            data["state"] = context  # unread: a handler that wanted it would read it itself
        return await handler(event, data)


def install(dispatcher: Any) -> None:
    """Put PressFSMContextMiddleware in the place of the dispatcher's own FSM middleware."""
    old = dispatcher.fsm
    new = PressFSMContextMiddleware(old.storage, old.events_isolation, old.strategy)
    middlewares = dispatcher.update.outer_middleware._middlewares
    middlewares[middlewares.index(old)] = new
    dispatcher.fsm = new
    dispatcher.shutdown.handlers = [h for h in dispatcher.shutdown.handlers if h.callback != old.close]
    dispatcher.shutdown.register(new.close)
