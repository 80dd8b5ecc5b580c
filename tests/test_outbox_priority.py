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


async def test_paid_broadcasts_claim_their_kinds_apart(sessions):
    """The sender claims rows sent without allow_paid_broadcast (personal first) and rows of PAID_KINDS apart."""
    async with sessions() as session:
        session.add_all([User(id=chat) for chat in range(200, 206)])
        await session.flush()
        await outbox.enqueue_many(session, [{"chat_id": 200, "text": "results", "kind": "results"},
                                            {"chat_id": 201, "text": "digest", "kind": "digest"},
                                            {"chat_id": 202, "text": "card", "kind": "new_idea"},
                                            {"chat_id": 203, "text": "broadcast", "kind": "broadcast"}])
        await outbox.enqueue(session, 204, "your idea was published", kind="notification")
        await outbox.enqueue(session, 205, "a new proposal", kind="moderation")
        await session.commit()
    async with sessions() as session:
        free = await outbox.claim_due(session, 10, paid=False)
        paid = await outbox.claim_due(session, 10, paid=True)
        await session.commit()
    assert sorted(message.kind for message in free) == ["moderation", "new_idea", "notification"]
    assert sorted(message.kind for message in paid) == ["broadcast", "digest", "results"]
