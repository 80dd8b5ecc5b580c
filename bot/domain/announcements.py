"""Announcements to the moderators: a new proposal, or an idea hidden by residents' reports, posted with its
moderation card to the moderators' chat (or to each admin privately when there is none). No Telegram here."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain.moderation import Renderer, load_card
from bot.domain.outgoing import Recipient, fan_out, language_of
from storage import moderation as store


async def moderator_recipients(session: AsyncSession, settings: Settings, dedupe: str) -> list[Recipient]:
    """Where the moderators are told things, in which language (the variant): their chat (MODERATION_CHAT_ID), or
    each admin privately when there is none (then the dedupe key gets the admin's id)."""
    if settings.moderation_chat_id is not None:
        return [Recipient(settings.moderation_chat_id, settings.default_language, dedupe)]
    admins = await store.users_by_ids(session, settings.admin_ids)
    return [Recipient(admin_id, language_of(getattr(admins.get(admin_id), "language", None),
                                            settings.default_language), f"{dedupe}:{admin_id}")
            for admin_id in sorted(settings.admin_ids)]


async def _announce(session: AsyncSession, idea_id: int, settings: Settings, bot_username: str, event: str,
                    dedupe: str, renderer: Renderer) -> int:
    card = await load_card(session, idea_id)
    if card is None:
        return 0
    return await fan_out(session, await moderator_recipients(session, settings, dedupe),
                         lambda language: renderer.moderation_post(card, language, bot_username, event),
                         kind="moderation")


async def announce_proposal(session: AsyncSession, idea_id: int, settings: Settings, bot_username: str,
                            renderer: Renderer) -> None:
    """Post a new proposal's moderation card (with its buttons) to the moderators' chat, or to each admin when
    there is none. Not committed: the caller commits it with the proposal."""
    await _announce(session, idea_id, settings, bot_username, "proposal", f"proposal:{idea_id}", renderer)


async def announce_hidden(session: AsyncSession, idea_id: int, settings: Settings, bot_username: str,
                          renderer: Renderer) -> None:
    """Tell the moderators that reports hid an idea (its card, reports included). Call it in the transaction
    that hides the idea; not committed. Once per hiding: un-hiding bumps the idea's version."""
    idea = await store.get_idea(session, idea_id)
    if idea is None:
        return
    await _announce(session, idea_id, settings, bot_username, "hidden", f"hidden:{idea_id}:{idea.version}",
                    renderer)
