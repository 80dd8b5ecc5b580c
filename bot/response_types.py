"""aiogram parses every Bot API answer with `Response[<the method's result type>]`, a pydantic generic class.
pydantic keeps such parametrized classes only weakly, so they are garbage-collected and built again (1-3 ms each)
about once per ten answers. Holding a reference to the ones the bot uses keeps them built."""

from __future__ import annotations

from aiogram import methods
from aiogram.methods import Response

from bot.ui.respond import EditInPlace

USED = (methods.AnswerCallbackQuery, methods.DeleteMessage, methods.DeleteWebhook, methods.EditMessageReplyMarkup,
        methods.EditMessageText, methods.GetMe, methods.GetUpdates, methods.SendChatAction, methods.SendMessage,
        methods.SendPhoto, methods.SetMyCommands, methods.SetWebhook, EditInPlace)
KEPT = {method: Response[method.__returning__] for method in USED}
