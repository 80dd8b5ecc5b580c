"""The TIMEZONE setting: every date shown to residents is in it, in handlers and in the outbox's texts alike."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.i18n import create_i18n, rendering
from bot.ui.screens import campaign_dates_line
from storage.models import Campaign, Idea
from tests.conftest import App, load_example


async def _first_idea_and_campaign(sessions) -> tuple[int, Campaign]:
    async with sessions() as session:
        idea_id = (await session.exec(select(Idea.id).order_by(Idea.id))).first()
        campaign = (await session.exec(select(Campaign))).first()
    return idea_id, campaign


async def test_a_different_timezone_changes_the_time_a_card_shows(fake_telegram, sqlite_sessions, clock):
    await load_example(sqlite_sessions)
    idea_id, campaign = await _first_idea_and_campaign(sqlite_sessions)
    riga_app = App(fake_telegram, sqlite_sessions, clock)
    tokyo_app = App(fake_telegram, sqlite_sessions, clock, timezone="Asia/Tokyo")
    try:
        riga = await riga_app.resident("en").send(f"/start idea_{idea_id}")
        tokyo = await tokyo_app.resident("en").send(f"/start idea_{idea_id}")
    finally:
        await riga_app.close()
        await tokyo_app.close()
    riga_time = campaign.ends_at.astimezone(ZoneInfo("Europe/Riga")).strftime("%H:%M")
    tokyo_time = campaign.ends_at.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M")
    assert riga_time != tokyo_time
    assert riga_time in riga.text and tokyo_time not in riga.text
    assert tokyo_time in tokyo.text and riga_time not in tokyo.text


async def test_texts_rendered_for_the_outbox_use_the_zone_they_are_given(example_sessions, clock):
    _idea_id, campaign = await _first_idea_and_campaign(example_sessions)
    i18n = create_i18n()
    lines = {}
    for zone in ("Europe/Riga", "America/New_York"):
        with rendering(i18n, "en", ZoneInfo(zone)):
            lines[zone] = campaign_dates_line(campaign, clock())
    assert campaign.ends_at.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M") in lines["America/New_York"]
    assert lines["Europe/Riga"] != lines["America/New_York"]
