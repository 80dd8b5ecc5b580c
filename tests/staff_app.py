"""The app with one admin and no rate limit, checked after the story like Telegram would: every button press
answered and no request refused (except "message is not modified", which the bot handles)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from tests.conftest import App, load_example


async def app_with_admin(fake_telegram, sessions, clock, admin_id: int) -> AsyncIterator[App]:
    await load_example(sessions)
    application = App(fake_telegram, sessions, clock, admin_ids=frozenset({admin_id}), rate_limit_per_minute=10_000)
    yield application
    await application.close()
    assert not fake_telegram.unanswered_callbacks(), fake_telegram.unanswered_callbacks()
    refused = [call for call in fake_telegram.requests
               if not call.ok and "message is not modified" not in (call.description or "")]
    assert not refused, [(call.method, call.description) for call in refused]
