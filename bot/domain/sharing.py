"""Sharing ideas beyond the bot: inline mode (ideas found by search, offered in any chat) and QR codes for
posters. No Telegram here: links are plain strings, the QR code a PNG made with segno."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

import segno
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain import browse, search
from bot.domain.lifecycle import has_rights, valid_id
from bot.domain.rules import idea_link
from storage import ideas as idea_store
from storage.models import Campaign, Idea

INLINE_RESULTS = 20  # Telegram allows 50; twenty cards are plenty in a chat's popup


def bot_link(bot_username: str) -> str:
    return f"https://t.me/{bot_username}"


def qr_png(link: str) -> bytes:
    """A QR code of the link, large enough to print (error correction M survives a crease or a stain)."""
    buffer = io.BytesIO()
    segno.make(link, error="m", micro=False).save(buffer, kind="png", scale=12, border=4)
    return buffer.getvalue()


@dataclass(frozen=True)
class InlineIdeas:
    ideas: list[Idea]
    next_offset: int | None


async def inline_ideas(session: AsyncSession, query: str, offset: int, now: datetime) -> InlineIdeas:
    """The ideas a typed inline query offers: found by its words, like the bot's search, or the most supported
    ones while too little is typed. `offset` pages through them (Telegram sends back our next_offset)."""
    campaign = await browse.current_campaign(session, now)
    if campaign is None:
        return InlineIdeas([], None)
    offset = max(offset, 0)
    found = await search.find(session, campaign, query, offset, INLINE_RESULTS)
    if found is not None:
        ideas, total = found
        more = offset + len(ideas) < total
    else:
        ideas = await idea_store.most_supported_page(session, campaign.id, offset, INLINE_RESULTS)
        more = len(ideas) == INLINE_RESULTS
    return InlineIdeas(ideas, offset + len(ideas) if more else None)


@dataclass(frozen=True)
class QrCode:
    link: str
    png: bytes
    idea: Idea | None = None
    campaign: Campaign | None = None


async def qr_code(session: AsyncSession, settings: Settings, actor_id: int, target: str, bot_username: str,
                  now: datetime) -> QrCode | str:
    """A poster's QR code for an idea (its number) or the campaign ("campaign"); else the refusal: "no_rights",
    "not_found" or "usage"."""
    if not await has_rights(session, settings, actor_id):
        return "no_rights"
    target = target.strip().lower().lstrip("#")
    if target == "campaign":
        campaign = await browse.current_campaign(session, now)
        if campaign is None:
            return "not_found"
        link = bot_link(bot_username)
        return QrCode(link, qr_png(link), campaign=campaign)
    if not target.isdigit() or not valid_id(int(target)):
        return "usage"
    found = await idea_store.get_idea_with_category(session, int(target))
    if found is None or not idea_store.is_public(found[0]):
        return "not_found"
    link = idea_link(bot_username, found[0].id)
    return QrCode(link, qr_png(link), idea=found[0])
