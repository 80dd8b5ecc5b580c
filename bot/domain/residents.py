"""A resident's own settings: the language they read in, and whether messages reach them."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import users as user_store
from storage.models import LANGUAGES
from storage.users import Resident


def language_code(typed: str | None) -> str | None:
    """The language a resident typed after /lang ("ru", "LV"), or None for anything else."""
    wanted = (typed or "").strip().casefold()
    return wanted if wanted in LANGUAGES else None


async def choose_language(session: AsyncSession, user: Resident, language: str) -> bool:
    """Remember the resident's language; False for a language the bot does not speak (a forged button)."""
    if language not in LANGUAGES:
        return False
    await user_store.set_language(session, user.id, language)
    return True


async def set_reachable(session: AsyncSession, user_id: int, reachable: bool) -> None:
    """Telegram told us the resident blocked (or unblocked) the bot: pause (or resume) messages to them."""
    await user_store.set_reachable(session, user_id, reachable)
    await session.commit()
