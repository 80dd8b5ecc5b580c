"""Supporting ideas and withdrawing the support, end to end: the real bot and HTTP session against the fake Bot
API server."""

from __future__ import annotations

import re

from sqlmodel import select

from bot.ui import callbacks as cb
from tests.conftest import AFTER_CAMPAIGN, BEFORE_CAMPAIGN, BOT_USERNAME
from tests.i18n_helpers import t, tn
from tests.resident_helpers import IDEAS, SUPPORT, WITHDRAW, open_first_idea, votes_of


async def test_latvian_resident_reads_votes_withdraws_and_shares(app):
    anna = app.resident("lv")
    welcome = await anna.send("/start")
    assert "Atvērtā Latvija" in welcome.text
    # Babel's date interval in Latvian, the year once: "16. novembris – 20. decembris"
    assert "16. novembris" in welcome.text and "Balsošanas beigas: 2026. gada 20. decembris" in welcome.text
    assert t("lv", IDEAS) in welcome.buttons

    categories = await anna.press(t("lv", IDEAS))
    assert categories.edited and not categories.sent  # navigation edits in place
    assert any(label.startswith("Atklātība · 6") for label in categories.buttons)

    listing = await anna.press("Atklātība")
    assert tn("lv", "{count} idea", "{count} ideas", 6) in listing.text

    card = await anna.press(listing.buttons[0])
    assert tn("lv", "{count} supporter", "{count} supporters", 0) in card.text
    assert f"https://t.me/{BOT_USERNAME}?start=idea_" in card.text

    supported = await anna.press(t("lv", SUPPORT))
    assert supported.alerts[0].text == t("lv", "👍 Thank you! Your support is counted.")
    assert tn("lv", "{count} supporter", "{count} supporters", 1) in supported.text
    assert t("lv", "✅ You support this idea.") in supported.text
    assert t("lv", WITHDRAW) in supported.buttons
    idea_id = int(re.search(r"idea_(\d+)", supported.text).group(1))
    assert await votes_of(app, anna.user_id) == [idea_id]

    # A double tap: the old "Support" button again. Still one vote.
    again = await anna.press_data(cb.IdeaAction(act=cb.ACT_SUPPORT, id=idea_id).pack(), anna.last.message_id)
    assert again.alerts[0].text == t("lv", "You already support it.")
    assert await votes_of(app, anna.user_id) == [idea_id]

    withdrawn = await anna.press(t("lv", WITHDRAW))
    assert withdrawn.alerts[0].text == t("lv", "Your support is withdrawn.")
    assert await votes_of(app, anna.user_id) == []
    assert t("lv", SUPPORT) in withdrawn.buttons

    back = await anna.press(t("lv", "⬅️ Back to the list"))
    assert tn("lv", "{count} idea", "{count} ideas", 6) in back.text

    # A friend opens the shared link.
    friend = app.resident("lv")
    shared = await friend.send(f"/start idea_{idea_id}")
    assert shared.sent and f"idea_{idea_id}" in shared.text


async def test_voting_closed_outside_the_campaign_dates(app):
    anna = app.resident("lv")
    app.clock.now = AFTER_CAMPAIGN
    card = await open_first_idea(anna, "lv")
    assert t("lv", SUPPORT) not in card.buttons
    why = await anna.press(t("lv", "🔒 Voting is not open"))
    assert why.alerts[0].show_alert and "2026" in why.alerts[0].text
    idea_id = int(re.search(r"idea_(\d+)", card.text).group(1))
    forged = await anna.press_data(cb.IdeaAction(act=cb.ACT_SUPPORT, id=idea_id).pack(), anna.last.message_id)
    assert forged.alerts and await votes_of(app, anna.user_id) == []

    app.clock.now = BEFORE_CAMPAIGN
    early = await anna.press_data(cb.IdeaAction(act=cb.ACT_SUPPORT, id=idea_id).pack(), anna.last.message_id)
    assert "2026" in early.alerts[0].text and await votes_of(app, anna.user_id) == []


async def test_final_supports_are_announced_and_cannot_be_withdrawn(app):
    async with app.sessions() as session:
        from storage.models import Campaign

        campaign = (await session.exec(select(Campaign))).one()
        campaign.votes_revocable = False
        session.add(campaign)
        await session.commit()
    anna = app.resident("lv")
    card = await open_first_idea(anna, "lv")
    warning = t("lv", "⚠️ A support is final in this campaign: like a signature, it cannot be withdrawn.")
    assert warning in card.text
    supported = await anna.press(t("lv", SUPPORT))
    assert t("lv", WITHDRAW) not in supported.buttons
    idea_id = int(re.search(r"idea_(\d+)", card.text).group(1))
    forged = await anna.press_data(cb.IdeaAction(act=cb.ACT_WITHDRAW, id=idea_id).pack(), anna.last.message_id)
    assert forged.alerts[0].text == t(
        "lv", "In this campaign a support is final, like a signature: it cannot be withdrawn.")
    assert await votes_of(app, anna.user_id) == [idea_id]
