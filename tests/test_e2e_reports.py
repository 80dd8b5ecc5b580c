"""Reporting ideas, end to end: enough reports hide an idea and tell the moderators."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Idea
from tests.i18n_helpers import t
from tests.test_e2e_proposals import MODERATION_CHAT, outbox, proposal_app  # noqa: F401 (a fixture)


async def test_reports_hide_an_idea_and_tell_the_moderators(proposal_app):  # noqa: F811 (the imported fixture)
    async with proposal_app.sessions() as session:
        idea = (await session.exec(select(Idea).order_by(Idea.id))).first()
    for number in range(3):
        resident = proposal_app.resident("lv")
        await resident.send(f"/start idea_{idea.id}")
        await resident.press(t("lv", "⚠️ Report"))
        reply = await resident.press(t("lv", "📢 Spam or advertising"))
        assert reply.alerts[0].text == t("lv", "Thank you! Moderators will look at it.")
        if number == 0:
            again = await resident.press_data(f"r:{idea.id}:spam", resident.last.message_id)
            assert again.alerts[0].text == t("lv", "You have already reported this idea. Thank you!")
    hidden = await proposal_app.resident("lv").send(f"/start idea_{idea.id}")
    assert hidden.text == t("lv", "😕 This idea was not found. It may have been removed, or the link is wrong.")
    notices = [row for row in await outbox(proposal_app) if row.kind == "moderation"]
    assert len(notices) == 1 and notices[0].chat_id == MODERATION_CHAT
