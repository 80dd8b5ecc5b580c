"""The process's request pacing (bot/request_pacing.py) and paid broadcasts: the outbox's paid pace
(PAID_BROADCAST_RATE, up to 1,000/s) is not held to the free pace of the process's new messages."""

from __future__ import annotations

import asyncio

from aiogram.methods import SendMessage

from bot.request_pacing import PacedRetryingRequests


async def test_paid_broadcasts_do_not_wait_for_the_free_pace():
    pacing = PacedRetryingRequests(rate_per_second=1)  # one new message a second for the whole process
    answer = asyncio.Event()
    left: list[int] = []
    all_left = asyncio.Event()

    async def make_request(bot, method):
        left.append(method.chat_id)
        if len(left) == 4:
            all_left.set()
        await answer.wait()
        return True

    free = asyncio.create_task(pacing(make_request, None, SendMessage(chat_id=1, text="a reply")))
    paid = [asyncio.create_task(pacing(make_request, None, SendMessage(chat_id=chat, text="results",
                                                                       allow_paid_broadcast=True)))
            for chat in (2, 3, 4)]
    try:
        async with asyncio.timeout(10):  # the bound only catches a hang: free sends hold paid ones back
            await all_left.wait()
    finally:
        answer.set()
        await asyncio.gather(free, *paid)
    assert left[0] == 1 and sorted(left[1:]) == [2, 3, 4]  # the paid ones left while the free one was in flight
