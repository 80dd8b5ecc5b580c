"""Last router: whatever nothing else understood gets a short helpful answer, never silence."""

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.ui import screens
from bot.ui.respond import refuse_press, show


async def unexpected_message(message: Message) -> None:
    if message.chat.type != "private":  # a group the bot was added to: residents talk to it privately
        return
    if message.text and message.text.startswith("/"):
        await show(message, screens.unknown_command())
        return
    await show(message, screens.unexpected_message())


async def stale_button(query: CallbackQuery) -> None:
    # A forged or outdated button (its format changed, or its screen no longer exists).
    await refuse_press(query, screens.main_menu_only(), screens.stale_button_text())


def create_router() -> Router:
    router = Router(name="fallback")
    router.message.register(unexpected_message)
    router.callback_query.register(stale_button)
    return router
