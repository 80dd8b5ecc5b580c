"""Moderators' posts and personal notifications go before mass messages, also when a broadcast was queued first."""

from __future__ import annotations

from storage import outbox
from storage.models import User


async def test_a_moderation_post_goes_before_a_queued_broadcast(sessions):
    async with sessions() as session:
        session.add_all([User(id=chat) for chat in range(100, 131)])
        await session.flush()
        await outbox.enqueue_many(session, [{"chat_id": chat, "text": f"news {chat}", "kind": "broadcast"}
                                            for chat in range(100, 130)])
        await outbox.enqueue(session, -100500, "a new proposal", kind="moderation")
        await outbox.enqueue(session, 130, "your idea was published", kind="notification")
        await session.commit()
    async with sessions() as session:
        first = await outbox.claim_due(session, 2)
        await session.commit()
    assert sorted(message.kind for message in first) == ["moderation", "notification"]
    async with sessions() as session:
        rest = await outbox.claim_due(session, 100)
    assert {message.kind for message in rest} == {"broadcast"} and len(rest) == 30
