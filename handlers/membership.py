"""Telegram tells the bot when a resident blocks or unblocks it (my_chat_member): messages to them pause and
resume before any send fails. Only private chats count: removing the bot from a group says nothing about
whether the person who removed it can be reached."""

from aiogram import F, Router
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated

from bot.domain import residents
from storage.db import AsyncSession


async def blocked(event: ChatMemberUpdated, session: AsyncSession) -> None:
    await residents.set_reachable(session, event.from_user.id, False)


async def unblocked(event: ChatMemberUpdated, session: AsyncSession) -> None:
    await residents.set_reachable(session, event.from_user.id, True)


def create_router() -> Router:
    router = Router(name="membership")
    router.my_chat_member.filter(F.chat.type == "private")
    router.my_chat_member.register(blocked, ChatMemberUpdatedFilter(member_status_changed=KICKED))
    router.my_chat_member.register(unblocked, ChatMemberUpdatedFilter(member_status_changed=MEMBER))
    return router
