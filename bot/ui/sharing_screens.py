"""Ideas as inline-mode cards (offered when someone types the bot's name in any chat) and the captions of the
moderators' QR codes."""

from __future__ import annotations

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
)
from aiogram.utils.i18n import gettext as _

from bot.domain import sharing
from bot.domain.localized import localized
from bot.domain.rules import idea_link
from bot.ui.screens import supporters_text
from bot.ui.text import escape, shorten
from storage.models import Idea

CARD_BODY_LENGTH = 600


def inline_card(idea: Idea, language: str, bot_username: str) -> InlineQueryResultArticle:
    """The idea as it appears in the chat it is shared to, with a button that opens it in the bot."""
    title = localized(idea, "title", language).text
    body = localized(idea, "body", language).text
    text = "\n".join([f"💡 <b>{escape(title)}</b>", "", escape(shorten(body, CARD_BODY_LENGTH)), "",
                      f"👍 {supporters_text(idea.supporters_count)}",
                      _("Support it in the ManaBalss bot: one tap, anonymous.")])
    button = InlineKeyboardButton(text=_("💬 Open in the bot"), url=idea_link(bot_username, idea.id))
    return InlineQueryResultArticle(
        id=f"idea-{idea.id}",
        title=shorten(title, 100),
        description=f"👍 {supporters_text(idea.supporters_count)} · {shorten(body, 80)}",
        input_message_content=InputTextMessageContent(message_text=text),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]),
    )


def inline_nothing_found() -> str:
    """The label of the button above empty inline results."""
    return _("Nothing found: open the bot")


def qr_caption(code: sharing.QrCode, language: str) -> str:
    if code.idea is not None:
        what = localized(code.idea, "title", language).text
    else:
        what = localized(code.campaign, "title", language).text
    return _("🔳 QR code for posters: “{what}”\n{link}").format(what=escape(shorten(what, 200)), link=code.link)


def qr_usage() -> str:
    return _("/qr N – a QR code of idea N for posters; /qr campaign – of the campaign")


def qr_not_found() -> str:
    return _("😕 Not found: check the number. Only public ideas have a QR code.")
