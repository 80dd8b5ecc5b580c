"""Residents propose ideas, end to end: the conversation, its limits, a restart in the middle, "My ideas",
reports and the rate limit."""

from __future__ import annotations

import pytest
from sqlmodel import select

from storage.models import Idea, IdeaStatus, OutboxMessage
from tests.conftest import AFTER_CAMPAIGN, App, load_example
from tests.i18n_helpers import t

MODERATION_CHAT = -1001234567890


PROPOSE = "✍️ Propose an idea"


TITLE = "Pašvaldību sēžu protokoli vienuviet"


BODY = "Visu pašvaldību domju sēžu protokoli būtu publicējami vienā vietnē, ar meklēšanu pēc tēmas un datuma."


@pytest.fixture
async def proposal_app(fake_telegram, sqlite_sessions, clock):
    await load_example(sqlite_sessions)
    application = App(fake_telegram, sqlite_sessions, clock, moderation_chat_id=MODERATION_CHAT,
                      admin_ids=frozenset({9}), reports_to_hide=3)
    yield application
    await application.close()
    assert not fake_telegram.unanswered_callbacks()


async def pending_ideas(app) -> list[Idea]:
    async with app.sessions() as session:
        return list((await session.exec(select(Idea).where(Idea.status == IdeaStatus.PENDING))).all())


async def outbox(app) -> list[OutboxMessage]:
    async with app.sessions() as session:
        return list((await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def start_proposal(resident, language="lv", category="Atklātība"):
    await resident.send("/start")
    await resident.press(t(language, PROPOSE))
    return await resident.press(category)


async def test_latvian_resident_proposes_with_edits_and_moderators_are_told(proposal_app):
    anna = proposal_app.resident("lv")
    asked = await start_proposal(anna)
    assert t("lv", "Step 2 of 3: send a short title for your idea, from 10 to 120 characters.") in asked.text

    short = await anna.send("Protokoli")
    assert short.text == t("lv", "The title is too short ({length} characters). Please use at least {minimum}.",
                           length="9", minimum="10")
    body_step = await anna.send(TITLE)
    assert t("lv", "Step 3 of 3: describe your idea, from 30 to 2,000 characters: what should change, and why?") \
        in body_step.text
    preview = await anna.send(BODY)
    assert t("lv", "👀 <b>Preview</b>: this is how others will see your idea once a moderator publishes it."
             ).replace("<b>", "").replace("</b>", "") in preview.text
    assert TITLE in preview.text and BODY in preview.text

    retitled = await anna.press(t("lv", "✏️ Title"))
    assert TITLE in retitled.text  # the current title is shown while editing
    preview = await anna.send("Pašvaldību sēžu protokoli vienā vietnē")
    assert "Pašvaldību sēžu protokoli vienā vietnē" in preview.text and BODY in preview.text

    sent = await anna.press(t("lv", "✅ Send"))
    assert sent.text.startswith("🙏")
    [idea] = await pending_ideas(proposal_app)
    assert (idea.title_lv, idea.body_lv, idea.author_id) == ("Pašvaldību sēžu protokoli vienā vietnē", BODY,
                                                             anna.user_id)
    [announcement] = [row for row in await outbox(proposal_app) if row.kind == "moderation"]
    assert announcement.chat_id == MODERATION_CHAT and "Pašvaldību sēžu protokoli vienā vietnē" in announcement.text

    mine = await anna.press(t("lv", "🗂 My ideas")) if t("lv", "🗂 My ideas") in sent.buttons else None
    assert mine is not None and t("lv", "pending review") in mine.text


async def test_russian_resident_is_offered_similar_ideas_and_sends_anyway(proposal_app):
    ivan = proposal_app.resident("ru")
    await start_proposal(ivan, "ru", "Открытость")
    await ivan.send("Бюджеты самоуправлений в открытых данных")
    similar = await ivan.send("Пусть каждое самоуправление публикует бюджет в машиночитаемом виде каждый квартал.")
    assert any(label.startswith("👍 ") and "Бюджеты самоуправлений в виде открытых данных" in label
               for label in similar.buttons)
    # Looking at the existing idea keeps the draft; the resident comes back with /propose.
    card = await ivan.press("Бюджеты самоуправлений в виде открытых данных")
    assert t("ru", "👍 Support") in card.buttons
    resumed = await ivan.send("/propose")
    assert t("ru", "➡️ Mine is different: continue") in resumed.buttons or "Бюджеты" in resumed.text
    if t("ru", "➡️ Mine is different: continue") in resumed.buttons:
        await ivan.press(t("ru", "➡️ Mine is different: continue"))
    sent = await ivan.press(t("ru", "✅ Send"))
    assert sent.text.startswith("🙏")
    [idea] = await pending_ideas(proposal_app)
    assert idea.title_ru == "Бюджеты самоуправлений в открытых данных" and idea.title_lv is None


async def test_a_restart_in_the_middle_resumes_at_the_same_step(proposal_app, fake_telegram, sqlite_sessions, clock):
    anna = proposal_app.resident("lv")
    await start_proposal(anna)
    await anna.send(TITLE)
    await proposal_app.close()  # the bot process ends...

    restarted = App(fake_telegram, sqlite_sessions, clock, moderation_chat_id=MODERATION_CHAT)
    anna.feed = restarted.feed  # ...and a new one (new dispatcher, storage and HTTP session) takes over
    preview = await anna.send(BODY)
    assert TITLE in preview.text and BODY in preview.text
    await anna.press(t("lv", "✅ Send"))
    await restarted.close()
    assert len(await pending_ideas(proposal_app)) == 1


async def test_a_restart_resumes_with_conversations_in_redis(fake_telegram, sqlite_sessions, clock):
    """With REDIS_URL the conversation lives in Redis (several bot processes); a restart resumes it the same way."""
    from aiogram.fsm.storage.redis import RedisStorage

    from tests.conftest import REDIS_URL, service_unavailable

    await load_example(sqlite_sessions)
    storage = RedisStorage.from_url(REDIS_URL)
    try:
        await storage.redis.ping()
    except Exception as error:  # connection refused, timeout
        await storage.close()
        service_unavailable("Redis", error)
    await storage.redis.flushdb()
    first = App(fake_telegram, sqlite_sessions, clock, fsm_storage=storage)
    anna = first.resident("ru", user_id=880_001)
    await start_proposal(anna, "ru", "Открытость")
    await anna.send("Протоколы заседаний самоуправлений в одном месте")
    await first.close()

    restarted = App(fake_telegram, sqlite_sessions, clock, fsm_storage=RedisStorage.from_url(REDIS_URL))
    anna.feed = restarted.feed
    preview = await anna.send("Все протоколы заседаний дум самоуправлений публикуются на одном сайте с поиском.")
    assert "Протоколы заседаний самоуправлений в одном месте" in preview.text
    await anna.press(t("ru", "✅ Send"))
    await restarted.close()
    await storage.redis.flushdb()
    await storage.close()
    await restarted.dp.storage.close()
    assert len(await pending_ideas(restarted)) == 1


async def test_start_keeps_the_draft_and_cancel_discards_it(proposal_app):
    anna = proposal_app.resident("lv")
    await start_proposal(anna)
    await anna.send(TITLE)
    await anna.send("/start")
    search = await anna.send("budžets")  # at the menu, text is a search again, not the proposal's text
    assert t("lv", "🔎 Results for “{query}”:", query="budžets") in search.text
    resumed = await anna.send("/propose")
    assert t("lv", "Your unfinished proposal is kept; you can continue it.") in resumed.text
    assert TITLE in resumed.text  # back at the step it stopped at: the text
    cancelled = await anna.send("/cancel")
    assert cancelled.text == t("lv", "Cancelled. Here is the menu.")
    fresh = await anna.send("/propose")
    assert t("lv", "Your unfinished proposal is kept; you can continue it.") not in fresh.text


@pytest.mark.parametrize(("text", "expected"), [
    ("x" * 5000, "The title is too long ({length} characters). Please keep it within {maximum}."),
    ("👍" * 20, "Please write it in words: a few letters or only emoji are not enough."),
    ("\u200b" * 20, "This message has no text we can use. Please write it in words."),
])
async def test_abusive_titles_get_a_friendly_answer(proposal_app, text, expected):
    anna = proposal_app.resident("lv")
    await start_proposal(anna)
    reply = await anna.send(text)
    assert reply.text == t("lv", expected, length="5\u00a0000", maximum="120")


async def test_html_and_links_are_shown_literally(proposal_app):
    anna = proposal_app.resident("lv")
    await start_proposal(anna)
    await anna.send("<b>Treknraksts</b> & <a href='https://x.lv'>saite</a>")
    preview = await anna.send("<script>alert(1)</script> Garāks teksts par atklātību un līdzdalību & <i>citu</i>.")
    assert not preview.errors, preview.describe()
    assert "<b>Treknraksts</b> & <a href='https://x.lv'>saite</a>" in preview.text
    assert "<script>alert(1)</script>" in preview.text


async def test_stickers_and_text_between_steps(proposal_app):
    anna = proposal_app.resident("lv")
    await start_proposal(anna)
    assert (await anna.send_sticker()).text == t("lv", "Please send it as a text message.")
    await anna.send(TITLE)
    await anna.send(BODY)
    stray = await anna.send("vēl kaut kas")
    assert stray.text == t("lv", "Please use the buttons above to continue your proposal, or /cancel to discard it.")


async def test_limits_on_proposing(proposal_app):
    anna = proposal_app.resident("lv")
    for number in range(3):
        await start_proposal(anna)
        await anna.send(f"{TITLE} {number}")
        await anna.send(BODY)
        if t("lv", "➡️ Mine is different: continue") in anna.last.button_texts:
            await anna.press(t("lv", "➡️ Mine is different: continue"))
        await anna.press(t("lv", "✅ Send"))
    refused = await anna.send("/propose")
    assert refused.text.startswith("✍️ ") and "3" in refused.text
    assert len(await pending_ideas(proposal_app)) == 3

    proposal_app.clock.now = AFTER_CAMPAIGN
    late = await proposal_app.resident("ru").send("/propose")
    assert late.text == "✍️ " + t("ru", "The campaign has ended, so new proposals are no longer accepted. "
                                        "Thank you for taking part!")


async def test_too_many_messages_get_one_polite_answer(proposal_app):
    anna = proposal_app.resident("lv")
    for _ in range(40):
        await anna.send("budžets")
    slowed = await anna.send("budžets")
    assert slowed.text == t("lv", "🐢 That was a lot at once. Please wait a minute, then continue.")
    assert not (await anna.send("budžets")).calls  # dropped quietly after the one answer
    moderator = proposal_app.resident("lv", user_id=9)
    for _ in range(45):
        await moderator.send("budžets")
    assert t("lv", "🔎 Results for “{query}”:", query="budžets") in moderator.last.text


# The dialogue never makes a resident retype: keep buttons, a resumed draft, similar ideas after a new title.

async def test_a_new_title_from_the_preview_runs_the_similar_ideas_check_again(proposal_app):
    anna = proposal_app.resident("lv")
    await start_proposal(anna)
    await anna.send(TITLE)
    preview = await anna.send(BODY)  # nothing similar to this title: straight to the preview
    assert t("lv", "✅ Send") in preview.buttons
    await anna.press(t("lv", "✏️ Title"))
    similar = await anna.send("Pašvaldību budžeti kā atvērtie dati visiem")
    assert any("Pašvaldību budžeti kā atvērtie dati" in label for label in similar.buttons), similar.describe()
    preview = await anna.press(t("lv", "➡️ Mine is different: continue"))
    assert "Pašvaldību budžeti kā atvērtie dati visiem" in preview.text and BODY in preview.text


async def test_every_step_that_shows_a_current_value_can_keep_it(proposal_app):
    anna = proposal_app.resident("lv")
    await start_proposal(anna)
    await anna.send(TITLE)
    await anna.send(BODY)
    for edit, keep in (("✏️ Title", "✅ Keep this title"), ("✏️ Text", "✅ Keep this text"),
                       ("🏷 Category", "✅ Keep this category")):
        step = await anna.press(t("lv", edit))
        assert t("lv", keep) in step.buttons, step.describe()
        preview = await anna.press(t("lv", keep))
        assert t("lv", "✅ Send") in preview.buttons and TITLE in preview.text and BODY in preview.text
    assert "Atklātība" in preview.text
    sent = await anna.press(t("lv", "✅ Send"))
    assert sent.text.startswith("🙏")
    [idea] = await pending_ideas(proposal_app)
    assert (idea.title_lv, idea.body_lv) == (TITLE, BODY)


async def test_propose_resumes_a_draft_where_it_stopped(proposal_app):
    anna = proposal_app.resident("lv")
    await start_proposal(anna)
    await anna.send("/menu")
    title_step = await anna.send("/propose")  # the category is chosen: on to the title, not step 1 again
    assert t("lv", "Step 2 of 3: send a short title for your idea, from 10 to 120 characters.") in title_step.text
    assert t("lv", "Your unfinished proposal is kept; you can continue it.") in title_step.text
    await anna.send(TITLE)
    await anna.send("/start")
    body_step = await anna.send("/propose")
    assert t("lv", "Step 3 of 3: describe your idea, from 30 to 2,000 characters: what should change, and why?") \
        in body_step.text and TITLE in body_step.text
    preview = await anna.send(BODY)
    assert t("lv", "✅ Send") in preview.buttons


async def test_lang_with_a_language_switches_at_once(proposal_app):
    anna = proposal_app.resident("lv")
    await anna.send("/start")
    switched = await anna.send("/lang ru")
    assert switched.text.startswith(t("ru", "✅ From now on we write in English."))
    assert t("ru", "💡 Ideas") in switched.buttons  # the menu, already in Russian
    picker = await anna.send("/lang klingon")
    assert picker.text == "🌐 Izvēlies valodu · Выберите язык · Choose your language"
    assert t("ru", "💡 Ideas") in (await anna.send("/menu")).buttons  # an unknown language changes nothing
