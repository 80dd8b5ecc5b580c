"""Steps and names the residents' end-to-end stories share."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Vote
from tests.i18n_helpers import t

IDEAS, SUPPORT, WITHDRAW = "💡 Ideas", "👍 Support", "↩️ Withdraw support"


async def open_first_idea(resident, language: str):
    await resident.send("/start")
    await resident.press(t(language, IDEAS))
    transparency = {"lv": "Atklātība", "ru": "Открытость", "en": "Transparency"}[language]
    listing = await resident.press(transparency)
    first_idea = listing.buttons[0]
    return await resident.press(first_idea)


async def votes_of(app, user_id: int) -> list[int]:
    async with app.sessions() as session:
        return list((await session.exec(select(Vote.idea_id).where(Vote.user_id == user_id))).all())
