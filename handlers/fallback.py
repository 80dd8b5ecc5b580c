"""Last router: whatever nothing else understood gets a short helpful answer, never silence."""

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.ui import screens
from bot.ui.respond import show

router = Router(name="fallback")


@router.message()
async def unexpected_message(message: Message) -> None:
    if message.text and message.text.startswith("/"):
        await show(message, screens.unknown_command())
        return
    await show(message, screens.unexpected_message())


@router.callback_query()
async def stale_button(query: CallbackQuery) -> None:
    # A forged or outdated button (its format changed, or its screen no longer exists).
    await show(query, screens.main_menu_only(), alert=screens.stale_button_text())
