"""Subscriptions: the rules on a real database (SQLite and PostgreSQL), then residents' stories end to end
through the fake Bot API server: subscribing from the menu, choosing categories, /unsubscribe, a digest
delivered by the sender, an idea opened and supported straight from it, its "Unsubscribe" button, and a new-idea
card supported with one tap."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot import jobs
from bot.delivery import Sender
from bot.domain import subscriptions as subs
from bot.i18n import create_i18n
from bot.job_context import JobContext
from bot.ui import callbacks as cb
from bot.ui.callbacks import SUB_CATEGORY, SUB_OPTION, Subs
from storage.models import Category, CategoryInterest, Idea, OutboxMessage, User, Vote
from tests.conftest import BOT_USERNAME, CAMPAIGN_OPEN, load_example
from tests.i18n_helpers import t

SUBSCRIPTIONS, DIGEST, REMINDERS, NEWS = "🔔 Subscriptions", "Weekly digest", "Reminders", "News about my ideas"
SUPPORT, OPEN, UNSUBSCRIBE = "👍 Support", "💡 Open the idea", "🔕 Unsubscribe"


def plain(text: str) -> str:
    """A message text as Telegram shows it (tags parsed away)."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


# ------------------------------------------------------------------ rules on the database

async def option(session, user_id: int, code: str, on: bool) -> subs.Outcome:
    return (await subs.set_option(session, user_id, code, on, CAMPAIGN_OPEN)).outcome


async def category(session, user_id: int, category_id: int, on: bool) -> subs.Outcome:
    return (await subs.set_category(session, user_id, category_id, on, CAMPAIGN_OPEN)).outcome


@pytest.fixture
async def example(sessions):
    await load_example(sessions)
    async with sessions() as session:
        session.add_all([User(id=1, language="lv"), User(id=2, language="ru", is_banned=True, reminders=True,
                                                         subscribed=True)])
        await session.commit()
        categories = list((await session.exec(select(Category).order_by(Category.position))).all())
    sessions.categories = categories
    return sessions


async def test_options_turn_on_and_off_and_double_taps_change_nothing(example):
    async with example() as session:
        state = await subs.subscriptions(session, 1, CAMPAIGN_OPEN)
        assert (state.digest, state.reminders, state.news) == (False, False, True)
        assert state.categories_total == len(example.categories) and state.categories_chosen == 0
        assert await option(session, 1, subs.DIGEST, True) is subs.Outcome.CHANGED
        assert await option(session, 1, subs.DIGEST, True) is subs.Outcome.UNCHANGED
        assert await option(session, 1, subs.REMINDERS, True) is subs.Outcome.CHANGED
        assert await option(session, 1, subs.NEWS, False) is subs.Outcome.CHANGED
        assert await option(session, 1, "zz", True) is subs.Outcome.NOT_FOUND
        assert await option(session, 999, subs.DIGEST, True) is subs.Outcome.NOT_FOUND
        state = await subs.subscriptions(session, 1, CAMPAIGN_OPEN)
        assert (state.digest, state.reminders, state.news) == (True, True, False)


async def test_categories_of_the_current_campaign_only(example):
    first, second = example.categories[0].id, example.categories[1].id
    async with example() as session:
        assert await category(session, 1, first, True) is subs.Outcome.CHANGED
        assert await category(session, 1, first, True) is subs.Outcome.UNCHANGED
        assert await category(session, 1, second, True) is subs.Outcome.CHANGED
        assert await category(session, 1, second, False) is subs.Outcome.CHANGED
        for forged in (0, -1, 10**6, 2**40):
            assert await category(session, 1, forged, True) is subs.Outcome.NOT_FOUND
        choices = await subs.category_choices(session, 1, CAMPAIGN_OPEN)
        assert [(category.id, on) for category, on in choices.categories][:2] == [(first, True), (second, False)]
        rows = (await session.exec(select(CategoryInterest))).all()
        assert [(row.user_id, row.category_id) for row in rows] == [(1, first)]


async def test_a_banned_resident_can_only_turn_things_off(example):
    first = example.categories[0].id
    async with example() as session:
        assert await option(session, 2, subs.DIGEST, False) is subs.Outcome.CHANGED
        assert await option(session, 2, subs.DIGEST, True) is subs.Outcome.BANNED
        assert await category(session, 2, first, True) is subs.Outcome.BANNED
        assert await option(session, 2, subs.NEWS, False) is subs.Outcome.CHANGED  # their own news
        result = await subs.unsubscribe(session, 2)
        assert result.changed and not result.news_on
        user = (await session.exec(select(User.subscribed, User.reminders).where(User.id == 2))).one()
        assert tuple(user) == (False, False)


async def test_unsubscribe_turns_off_digest_reminders_and_categories_at_once(example):
    first = example.categories[0].id
    async with example() as session:
        await subs.set_option(session, 1, subs.DIGEST, True, CAMPAIGN_OPEN)
        await subs.set_option(session, 1, subs.REMINDERS, True, CAMPAIGN_OPEN)
        await subs.set_category(session, 1, first, True, CAMPAIGN_OPEN)
        result = await subs.unsubscribe(session, 1)
        assert result.changed and result.news_on
        state = await subs.subscriptions(session, 1, CAMPAIGN_OPEN)
        assert (state.digest, state.reminders, state.news, state.categories_chosen) == (False, False, True, 0)
        assert not (await subs.unsubscribe(session, 1)).changed


# ------------------------------------------------------------------ stories

def job_context(app) -> JobContext:
    return JobContext(sessions=app.sessions, settings=app.settings, i18n=create_i18n(), clock=app.clock,
                      bot_username=BOT_USERNAME)


async def flags(app, user_id: int) -> tuple[bool, bool, bool]:
    async with app.sessions() as session:
        row = (await session.exec(select(User.subscribed, User.reminders, User.notify_status)
                                  .where(User.id == user_id))).one()
    return tuple(row)


async def interests(app, user_id: int) -> list[int]:
    async with app.sessions() as session:
        return list((await session.exec(select(CategoryInterest.category_id)
                                        .where(CategoryInterest.user_id == user_id))).all())


async def votes_of(app, user_id: int) -> list[int]:
    async with app.sessions() as session:
        return list((await session.exec(select(Vote.idea_id).where(Vote.user_id == user_id))).all())


async def deliver(app) -> None:
    await Sender(app.bot, app.sessions, chat_interval=0.05).run_once()


async def make_a_week(app) -> list[int]:
    """The example campaign's ideas imported before it opened; two of them published this week, one supported."""
    now = app.clock.now
    async with app.sessions() as session:
        ids = list((await session.exec(select(Idea.id).order_by(Idea.id))).all())
        await session.exec(update(Idea).values(created_at=now - timedelta(days=30)))
        for offset, idea_id in enumerate(ids[:2]):
            await session.exec(update(Idea).where(Idea.id == idea_id)
                               .values(created_at=now - timedelta(days=1, hours=offset)))
        await session.exec(update(Idea).where(Idea.id == ids[5]).values(supporters_count=4))
        await session.commit()
    return ids


async def test_a_resident_subscribes_from_the_menu_and_chooses_categories(app):
    anna = app.resident("lv")
    await anna.send("/start")
    screen = await anna.press(t("lv", SUBSCRIPTIONS))
    assert screen.edited and not screen.sent  # edits the menu in place
    assert plain(t("lv", "🔔 <b>Subscriptions</b>")) in screen.text
    assert f"▫️ {t('lv', DIGEST)}" in screen.buttons and f"✅ {t('lv', NEWS)}" in screen.buttons

    on = await anna.press(t("lv", DIGEST))
    assert on.edited and not on.sent
    assert on.alerts[0].text == t("lv", "✅ On: {option}.", option=t("lv", DIGEST))
    assert f"✅ {t('lv', DIGEST)}" in on.buttons
    await anna.press(t("lv", REMINDERS))
    off = await anna.press(t("lv", NEWS))
    assert f"▫️ {t('lv', NEWS)}" in off.buttons
    assert await flags(app, anna.user_id) == (True, True, False)

    # An old button pressed again sets the state it shows, it does not flip it back.
    stale = Subs(act=SUB_OPTION, opt="d", on=1).pack()
    await anna.press_data(stale, anna.last.message_id)
    assert await flags(app, anna.user_id) == (True, True, False)

    categories = await anna.press("🏷")
    assert categories.edited and "▫️ Atklātība" in categories.buttons
    await anna.press("Atklātība")
    chosen = await anna.press("Atbildīgums")
    assert "✅ Atklātība" in chosen.buttons and "✅ Atbildīgums" in chosen.buttons
    dropped = await anna.press("Atbildīgums")
    assert "▫️ Atbildīgums" in dropped.buttons
    async with app.sessions() as session:
        transparency = (await session.exec(select(Category.id).where(Category.title_lv == "Atklātība"))).one()
    assert await interests(app, anna.user_id) == [transparency]
    back = await anna.press(t("lv", "⬅️ Back"))
    assert any(label.startswith("🏷") and "(1 " in label for label in back.buttons)

    # A forged category id is refused, politely.
    forged = await anna.press_data(Subs(act=SUB_CATEGORY, cat=999999, on=1).pack(), anna.last.message_id)
    assert forged.alerts and await interests(app, anna.user_id) == [transparency]


async def test_unsubscribe_turns_everything_off_and_says_how_to_come_back(app):
    anna = app.resident("ru")
    await anna.send("/subscribe")
    await anna.press(t("ru", DIGEST))
    await anna.press(t("ru", REMINDERS))
    await anna.press("🏷")
    await anna.press("Открытость")
    assert await interests(app, anna.user_id)

    reply = await anna.send("/unsubscribe")
    assert t("ru", "🔕 Done: no more weekly digest, reminders or new idea cards.") in reply.text
    assert "/subscribe" in reply.text
    assert await flags(app, anna.user_id) == (False, False, True)
    assert await interests(app, anna.user_id) == []
    again = await anna.send("/unsubscribe")
    assert t("ru", "🔕 You were not subscribed to the weekly digest, reminders or new idea cards.") in again.text
    # The way back: the button under the answer opens the settings.
    back = await anna.press(t("ru", SUBSCRIPTIONS))
    assert f"▫️ {t('ru', DIGEST)}" in back.buttons


async def test_a_banned_resident_can_unsubscribe_but_not_subscribe(app):
    anna = app.resident("lv")
    await anna.send("/subscribe")
    await anna.press(t("lv", REMINDERS))
    async with app.sessions() as session:
        await session.exec(update(User).where(User.id == anna.user_id).values(is_banned=True))
        await session.commit()
    refused = await anna.press(t("lv", DIGEST))
    assert refused.alerts[0].text == t(
        "lv", "Sorry, your account cannot subscribe to this. You can still turn everything off.")
    assert await flags(app, anna.user_id) == (False, True, True)
    reply = await anna.send("/unsubscribe")
    assert t("lv", "🔕 Done: no more weekly digest, reminders or new idea cards.") in reply.text
    assert await flags(app, anna.user_id) == (False, False, True)


async def test_a_digest_idea_is_opened_and_supported_and_the_digest_unsubscribed(app):
    ids = await make_a_week(app)
    anna = app.resident("lv")
    await anna.send("/subscribe")
    await anna.press(t("lv", DIGEST))
    assert await jobs.weekly_digest(job_context(app)) == 1
    await deliver(app)

    digest = anna.last
    assert plain(t("lv", "🆕 <b>New ideas</b>")) in digest.text
    assert plain(t("lv", "🔥 <b>Most supported</b>")) in digest.text
    assert digest.button_texts[-1] == t("lv", UNSUBSCRIBE)
    first = digest.button_texts[0]
    assert first.startswith("1. ")

    opened = await anna.press(first, message=digest)
    assert len(opened.sent) == 1 and not opened.edited  # the card is a new message; the digest stays
    card = opened.sent[0]
    assert f"idea_{ids[0]}" in card.text and t("lv", SUPPORT) in card.button_texts
    assert anna.fake.message(anna.user_id, digest.message_id).text == digest.text

    supported = await anna.press(t("lv", SUPPORT), message=card)
    assert supported.alerts[0].text == t("lv", "👍 Thank you! Your support is counted.")
    assert supported.edited[0].message_id == card.message_id
    assert await votes_of(app, anna.user_id) == [ids[0]]

    stopped = await anna.press(t("lv", UNSUBSCRIBE), message=digest)
    assert stopped.alerts == [type(stopped.alerts[0])(
        t("lv", "🔕 Done: no more weekly digest. To get it again: /subscribe."), True)]
    assert not stopped.edited and not stopped.sent
    assert (await flags(app, anna.user_id))[0] is False

    # A forged "open" button of an idea that does not exist gets an answer, not silence.
    forged = await anna.press_data(cb.IdeaAction(act=cb.ACT_OPEN_NEW, id=999999).pack(), digest.message_id)
    assert forged.alerts and not forged.sent


async def test_a_new_idea_card_is_supported_with_one_tap(app):
    ids = await make_a_week(app)
    anna = app.resident("ru")
    await anna.send("/subscribe")
    await anna.press("🏷")
    async with app.sessions() as session:
        category_id = (await session.exec(select(Idea.category_id).where(Idea.id == ids[0]))).one()
        title_ru = (await session.exec(select(Category.title_ru).where(Category.id == category_id))).one()
    await anna.press(title_ru)
    written = await jobs.new_idea_cards(job_context(app))
    assert written >= 1
    await deliver(app)
    cards = [message for message in anna.messages if t("ru", SUPPORT) in message.button_texts]
    assert cards and all(title_ru in message.text for message in cards)
    card = cards[0]
    assert card.button_texts == [t("ru", SUPPORT), t("ru", OPEN)]

    opened = await anna.press(t("ru", OPEN), message=card)
    assert len(opened.sent) == 1
    supported = await anna.press(t("ru", SUPPORT), message=card)
    assert supported.alerts[0].text == t("ru", "👍 Thank you! Your support is counted.")
    assert len(await votes_of(app, anna.user_id)) == 1
    # Written once: a second run in the same minute adds nothing.
    assert await jobs.new_idea_cards(job_context(app)) == 0
    async with app.sessions() as session:
        keys = (await session.exec(select(OutboxMessage.dedupe_key).where(OutboxMessage.kind == "new_idea"))).all()
    assert len(keys) == len(set(keys)) == written


async def test_help_and_every_screen_name_the_one_switch_of_news_about_my_ideas(app):
    anna = app.resident("lv")
    help_screen = await anna.send("/help")
    assert t("lv", "/notifications – news about my ideas: on or off") in help_screen.text
    switch = await anna.send("/notifications")
    assert switch.text == t("lv", "🔔 News about my ideas is on: we tell you when an idea you proposed or support "
                                  "changes its status.")
    off = await anna.press(t("lv", "🔕 Turn off"))
    assert off.text == t("lv", "🔕 News about my ideas is off.")
    settings = await anna.send("/subscribe")  # the same switch, under the same name, as an option of /subscribe
    assert any(t("lv", "News about my ideas") in label for label in settings.buttons)
