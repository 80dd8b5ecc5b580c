"""`python -m bot web` with WEBHOOK_ANSWER_IN_RESPONSE: the answer to a button press rides in the webhook's HTTP
response instead of a request of its own.

Telegram lets the response to a webhook POST carry one Bot API call, which it then makes itself; the bot never
sees its result. A press costs two calls, the edit of the pressed message and answerCallbackQuery (the toast or
the alert that stops the spinner). The answer's result does not matter (the edit's errors do: a failed edit sends
a new message), so it is the one to move: one request fewer per press (benchmarks/README.md, "Webhook workers").

Handlers stay the same in every mode: they call `query.answer(...)` as ever. Here `AnswerInResponse`, the
outermost update middleware, opens a slot for the update's callback query; `HoldAnswer`, a request middleware on
the Bot's session, keeps the first answer to that query in the slot instead of sending it (and tells the caller
it went: Telegram answers an answer with `true`); when the update is done, the held answer is the update's
result, which aiogram's webhook handler writes into the response. Long polling installs neither (nothing to
carry the call) and answers with a request.

Exactly once, whoever answers (a handler, a refusal, the rate limit, a redelivered update's skip, the error
handler: all inside the slot): the first answer is held and goes out once, in the response. A second answer to
the same query sends the held one and then itself, as they went before (Telegram refuses the second). An answer
made after the update is done (by a task it left behind) is sent as a request. An update that ends without a
response (an exception aiogram does not handle, a killed worker) is not acknowledged, so Telegram delivers it
again and that delivery answers the press (bot/once.py); a held answer is dropped with its response. So a press
is not answered twice across a crash either, as it was by request (answered, then killed before the update was
acknowledged, then delivered and answered again)."""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.types import TelegramObject, Update

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


@dataclass
class _Slot:
    query_id: str
    held: AnswerCallbackQuery | None = None
    open: bool = True


_SLOT: contextvars.ContextVar[_Slot | None] = contextvars.ContextVar("callback_answer_slot", default=None)


class AnswerInResponse(BaseMiddleware):
    """Outermost on updates: outside aiogram's error middleware too, since its apology is an answer as well."""

    async def __call__(self, handler: Handler, event: Update, data: dict[str, Any]) -> Any:
        query = event.callback_query
        if query is None:
            return await handler(event, data)
        slot = _Slot(query.id)
        token = _SLOT.set(slot)
        try:
            result = await handler(event, data)
        finally:
            slot.open = False
            _SLOT.reset(token)
        if slot.held is None:
            return result
        if isinstance(result, TelegramMethod):  # a handler's own call has the response: the answer goes as a request
            await data["bot"](slot.held)
            return result
        return slot.held


class HoldAnswer(BaseRequestMiddleware):
    """On the Bot's session: the first answer to the query of the update being handled waits in its slot."""

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Any:
        slot = _SLOT.get()
        if (slot is None or not slot.open or not isinstance(method, AnswerCallbackQuery)
                or method.callback_query_id != slot.query_id):
            return await make_request(bot, method)
        if slot.held is None:
            slot.held = method
            return True
        held, slot.held, slot.open = slot.held, None, False  # a second answer: both go, in their order
        await make_request(bot, held)
        return await make_request(bot, method)


def install(dp: Dispatcher, bot: Bot) -> None:
    dp.update.outer_middleware._middlewares.insert(0, AnswerInResponse())
    bot.session.middleware(HoldAnswer())
