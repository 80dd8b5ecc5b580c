"""Residents' stories, end to end: the real bot and HTTP session against the fake Bot API server."""

from __future__ import annotations

import re

from sqlmodel import select

from bot.ui import callbacks as cb
from storage.models import Idea, Vote
from tests.conftest import AFTER_CAMPAIGN, BEFORE_CAMPAIGN, BOT_USERNAME
from tests.i18n_helpers import t, tn

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


async def test_latvian_resident_reads_votes_withdraws_and_shares(app):
    anna = app.resident("lv")
    welcome = await anna.send("/start")
    assert "Atvērtā Latvija" in welcome.text
    assert "2026. gada 16. novembris" in welcome.text  # Babel's long date in Latvian
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


async def test_russian_resident_browses_votes_and_searches(app):
    ivan = app.resident("ru", first_name="Иван")
    welcome = await ivan.send("/start")
    assert "Открытая Латвия" in welcome.text
    assert "16 ноября 2026\u202fг." in welcome.text  # Babel's long date in Russian (narrow no-break space)

    card = await open_first_idea(ivan, "ru")
    supported = await ivan.press(t("ru", SUPPORT))
    assert tn("ru", "{count} supporter", "{count} supporters", 1) in supported.text
    withdrawn = await ivan.press(t("ru", WITHDRAW))
    assert tn("ru", "{count} supporter", "{count} supporters", 0) in withdrawn.text
    assert card.text.splitlines()[0] == withdrawn.text.splitlines()[0]

    found = await ivan.send("бюджет")
    assert t("ru", "🔎 Results for “{query}”:", query="бюджет") in found.text
    opened = await ivan.press(found.buttons[0])
    assert "💡" in opened.text and t("ru", SUPPORT) in opened.buttons

    # Latvian words find ideas too (shown in Russian), with or without diacritics.
    latvian_words = await ivan.send("pašvaldību budžeti")
    assert latvian_words.buttons[0].startswith("Бюджеты самоуправлений")
    assert (await ivan.send("pasvaldibu budzeti")).buttons == latvian_words.buttons

    nothing = await ivan.send("zzzzqqq")
    assert t("ru", "🔎 Nothing found for “{query}”. Try other words or browse the categories.",
             query="zzzzqqq") == nothing.text


async def test_language_switch_is_remembered(app):
    anna = app.resident("lv")
    await anna.send("/start")
    menu = await anna.send("/lang")
    assert menu.buttons[:3] == ["Latviešu", "Русский", "English"]
    switched = await anna.press("Русский")
    assert switched.alerts[0].text == t("ru", "✅ Language: {language}.", language="Русский")
    assert t("ru", "🏠 <b>Main menu</b>").replace("<b>", "").replace("</b>", "") in switched.text
    # Remembered: the next update speaks Russian although Telegram says "lv".
    card = await open_first_idea(anna, "ru")
    assert t("ru", SUPPORT) in card.buttons
    back = await anna.send("/lang")
    await anna.press("Latviešu", message=back.sent[0])
    assert t("lv", IDEAS) in (await anna.send("/menu")).buttons


async def test_english_telegram_user_gets_latvian_with_the_choice_offered(app):
    john = app.resident("en", first_name="John")
    reply = await john.send("/start")
    assert "Atvērtā Latvija" in reply.sent[0].text
    assert reply.sent[-1].button_texts[:3] == ["Latviešu", "Русский", "English"]
    english = await john.press("English")
    assert t("en", IDEAS) in english.buttons


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


async def test_idea_texts_are_escaped_and_long_texts_are_split(app):
    long_body = ("Teksts ar <b>birkām</b> & zīmēm 👍. " * 200).strip()  # ~7,000 UTF-16 units
    async with app.sessions() as session:
        idea = (await session.exec(select(Idea).order_by(Idea.id))).first()
        idea.title_lv = "<script>alert(1)</script> & <b>"
        idea.body_lv = long_body
        session.add(idea)
        await session.commit()
        idea_id = idea.id
    anna = app.resident("lv")
    card = await anna.send(f"/start idea_{idea_id}")
    assert not card.errors, card.describe()  # the fake refuses bad HTML with 400, as Telegram does
    assert "<script>alert(1)</script> & <b>" in card.text  # shown literally
    parts = [card.text]
    while t("lv", "📖 Read more") in anna.last.button_texts:
        parts.append((await anna.press(t("lv", "📖 Read more"))).text)
    assert len(parts) >= 3 and all(len(part.encode("utf-16-le")) // 2 <= 4096 for part in parts)
    shown = " ".join(part.split("\n\n")[1] if i == 0 else part for i, part in enumerate(parts))
    assert shown.count("birkām") == 200
    previous = await anna.press(t("lv", "◀️ Previous part"))
    assert previous.text == parts[-2]


async def test_the_largest_card_with_its_history_fits_one_message(app):
    from storage.models import StatusChange

    async with app.sessions() as session:
        idea = (await session.exec(select(Idea).order_by(Idea.id))).first()
        idea.title_lv = "Ā👍" * 150  # 300 characters, 450 UTF-16 units
        idea.body_lv = ("Garš teksts 👍 " * 400)[:5000]
        idea.status = "included"
        idea.status_changed_at = AFTER_CAMPAIGN
        session.add(idea)
        for status in ("under_review", "included", "under_review", "included", "included", "included"):
            session.add(StatusChange(idea_id=idea.id, status=status, note="Piezīme <b>&</b> 👍" * 12,
                                     created_at=AFTER_CAMPAIGN))
        await session.commit()
        idea_id = idea.id
    anna = app.resident("lv")
    card = await anna.send(f"/start idea_{idea_id}")
    assert not card.errors, card.describe()
    assert t("lv", "📜 <b>What happened to this idea</b>").replace("<b>", "").replace("</b>", "") in card.text
    assert "Piezīme <b>&</b>" in card.text  # notes are escaped
    while t("lv", "📖 Read more") in anna.last.button_texts:
        more = await anna.press(t("lv", "📖 Read more"))
        assert not more.errors, more.describe()


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
