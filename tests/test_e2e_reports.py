"""Reporting ideas, end to end: every report reaches the moderators' queue; only residents with a history hide an
idea (and relative to its support), and the moderators are told."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import select

from storage.models import Idea, User
from tests.i18n_helpers import t
from tests.test_e2e_proposals import MODERATION_CHAT, outbox, proposal_app  # noqa: F401 (a fixture)


async def _report(resident, idea_id: int):
    await resident.send(f"/start idea_{idea_id}")
    await resident.press(t("lv", "⚠️ Report"))
    return await resident.press(t("lv", "📢 Spam or advertising"))


async def test_reports_go_to_the_moderators_and_only_residents_with_a_history_hide_an_idea(proposal_app):  # noqa: F811
    async with proposal_app.sessions() as session:
        idea, other = (await session.exec(select(Idea).order_by(Idea.id).limit(2))).all()
    # Three fresh accounts: their reports reach the moderators' queue, the idea stays public.
    for number in range(3):
        resident = proposal_app.resident("lv")
        reply = await _report(resident, idea.id)
        assert reply.alerts[0].text == t("lv", "Thank you! Moderators will look at it.")
        if number == 0:
            again = await resident.press_data(f"r:{idea.id}:spam", resident.last.message_id)
            assert again.alerts[0].text == t("lv", "You have already reported this idea. Thank you!")
    still_public = await proposal_app.resident("lv").send(f"/start idea_{idea.id}")
    assert t("lv", "⚠️ Report") in still_public.buttons
    queue = await proposal_app.resident("lv", user_id=9).send("/pending")
    assert f"#{idea.id} ·" in queue.text
    # Three residents with a history (in the bot for a week, and supported another idea before): hidden.
    for _ in range(3):
        resident = proposal_app.resident("lv")
        await resident.send(f"/start idea_{other.id}")
        await resident.press(t("lv", "👍 Support"))
        async with proposal_app.sessions() as session:
            await session.exec(update(User).where(User.id == resident.user_id).values(
                created_at=proposal_app.clock.now - timedelta(days=7)))
            await session.commit()
        proposal_app.clock.now += timedelta(minutes=1)
        await _report(resident, idea.id)
    hidden = await proposal_app.resident("lv").send(f"/start idea_{idea.id}")
    assert hidden.text == t("lv", "😕 This idea was not found. It may have been removed, or the link is wrong.")
    notices = [row for row in await outbox(proposal_app) if row.kind == "moderation"]
    assert len(notices) == 1 and notices[0].chat_id == MODERATION_CHAT


def test_hiding_needs_reports_relative_to_support():
    from bot.config import Settings
    from bot.domain.reports import reports_needed

    settings = Settings(reports_to_hide=3, reports_hide_share=0.1)
    assert [reports_needed(supporters, settings) for supporters in (0, 30, 31, 500)] == [3, 3, 4, 50]
