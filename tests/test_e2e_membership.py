"""A resident blocks and unblocks the bot, end to end."""

from __future__ import annotations


async def test_blocking_and_unblocking_the_bot_pauses_and_resumes_messages(app):
    from storage.models import User

    anna = app.resident("lv")
    await anna.send("/start")

    async def reachable() -> bool:
        async with app.sessions() as session:
            return (await session.get(User, anna.user_id)).is_reachable

    await anna.block()
    assert await reachable() is False
    await anna.unblock()
    assert await reachable() is True
    await anna.block()
    await anna.send("/help")  # writing again means the bot is not blocked any more
    assert await reachable() is True
