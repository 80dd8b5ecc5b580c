"""Tests of the fake Telegram server itself, driven by the real aiogram Bot over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import aiohttp.web
import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from aiogram.types import Message as TgMessage

from tests.conftest import eventually
from tests.fake_telegram import (
    Alert,
    EntityParseError,
    FakeTelegram,
    HandledUpdates,
    Resident,
    clean_text,
    feed_via_dispatcher,
    feed_via_polling,
    feed_via_webhook,
    parse_html,
    parse_html_entities,
    utf16_len,
)

TOKEN = "123456:TEST-token"
ANNA = 1001
BORIS = 1002


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        server.add_user(ANNA, first_name="Anna")
        server.add_user(BORIS, first_name="Boris", language_code="ru")
        yield server


def make_bot(fake: FakeTelegram, token: str = TOKEN) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode="HTML"))


async def close_session(bot: Bot) -> None:
    # AiohttpSession.close() sleeps 0.25 s for TLS shutdown; plain HTTP to the fake needs no wait.
    if bot.session._session is not None:
        await bot.session._session.close()


@pytest_asyncio.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    bot = make_bot(fake)
    yield bot
    await close_session(bot)


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=text, callback_data=data)] for text, data in buttons]
    )


# ---------------------------------------------------------------- HTML rules (pure)


def test_html_valid_nested_tags_give_plain_text():
    html = '<b>Bold <i>both</i></b> <a href="https://x.lv/?a=1&b=2">link</a> <code>c</code>'
    assert parse_html(html) == "Bold both link c"
    assert parse_html('<pre><code class="language-python">x = 1</code></pre>') == "x = 1"
    assert parse_html('<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>') == "st"
    assert parse_html("<blockquote expandable>quote</blockquote>") == "quote"
    assert parse_html("<B>upper case tags</B>") == "upper case tags"


def test_html_entities_of_nested_tags_use_utf16_offsets():
    text, entities = parse_html_entities('😀 <b>bold <i>it</i></b> <a href="https://x.lv">l</a>')
    assert text == "😀 bold it l"
    assert entities == [
        {"offset": 3, "length": 7, "type": "bold"},
        {"offset": 8, "length": 2, "type": "italic"},
        {"offset": 11, "length": 1, "type": "text_link", "url": "https://x.lv"},
    ]
    _, (pre,) = parse_html_entities('<pre><code class="language-python">x</code></pre>')
    assert pre == {"offset": 0, "length": 1, "type": "pre", "language": "python"}


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<b>bold", "Can't find end tag corresponding to start tag b"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("ā<br>", 'Unsupported start tag "br" at byte offset 2'),  # offsets count UTF-8 bytes
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("1<2", "Unclosed start tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<a href=x"y">z</a>', "Unexpected end of name token at byte offset 8"),
        ("<b>x</b ", "Unclosed end tag at byte offset 4"),
        ('<tg-emoji emoji-id="abc">x</tg-emoji>', "Invalid custom emoji identifier specified"),
    ],
)
def test_html_errors_match_telegram(html, error):
    with pytest.raises(EntityParseError) as caught:
        parse_html(html)
    assert caught.value.description == error


def test_html_entities():
    assert parse_html("Tom &amp; Jerry &lt;3 &gt; &quot;q&quot;") == 'Tom & Jerry <3 > "q"'
    assert parse_html("&#65;&#x42;&#128512;") == "AB😀"
    assert parse_html("R&D and a&b=c") == "R&D and a&b=c"  # a bare & is accepted, as by Telegram
    for unknown in ("&foo;", "x &nbsp; y"):
        with pytest.raises(EntityParseError, match="Unsupported HTML entity"):
            parse_html(unknown)
    assert parse_html("&foo;", strict_entities=False) == "&foo;"  # what Telegram itself would do


def test_utf16_length_and_cleanup():
    assert utf16_len("😀") == 2
    assert utf16_len("ā😀a") == 4
    assert clean_text("\n  text\r\n with\ttab  \n") == ("text\n with tab", [])
    assert clean_text(*parse_html_entities("<b> </b>")) == ("", [])


# ---------------------------------------------------------------- basics over HTTP


@pytest.mark.asyncio
async def test_get_me_and_wrong_token(fake, bot):
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "manabalss_test_bot", True)
    stranger = make_bot(fake, "123456:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    finally:
        await close_session(stranger)


@pytest.mark.asyncio
async def test_unknown_method_and_json_body(fake):
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{fake.base_url}/bot{TOKEN}/fooBar", json={}) as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        body = {"chat_id": ANNA, "text": "<b>json</b>", "parse_mode": "HTML"}
        async with http.post(f"{fake.base_url}/bot{TOKEN}/sendMessage", json=body) as response:
            assert (await response.json())["result"]["text"] == "json"
        async with http.post(f"{fake.base_url}/bot{TOKEN}/sendmessage", data={"chat_id": ANNA, "text": "x"}) as r:
            assert r.status == 200  # method names are case-insensitive, urlencoded bodies work


@pytest.mark.asyncio
async def test_send_message_is_stored_with_keyboard(fake, bot):
    markup = keyboard(("Balsot 👍", "vote:1"), ("Atpakaļ", "back"))
    sent = await bot.send_message(ANNA, "<b>Ideja</b> &amp; balss", reply_markup=markup)
    assert sent.text == "Ideja & balss"
    assert sent.from_user.is_bot and sent.chat.id == ANNA
    assert sent.reply_markup.model_dump(exclude_none=True) == markup.model_dump(exclude_none=True)
    second = await bot.send_message(ANNA, "two")
    other_chat = await bot.send_message(BORIS, "first for Boris")
    assert (sent.message_id, second.message_id, other_chat.message_id) == (1, 2, 1)

    stored = fake.messages(ANNA)[0]
    assert stored.html == "<b>Ideja</b> &amp; balss"
    assert stored.buttons == [[("Balsot 👍", "vote:1")], [("Atpakaļ", "back")]]
    assert fake.last_message(ANNA).text == "two"
    call = fake.calls("sendMessage", chat_id=ANNA)[0]
    assert call.ok and call.params["chat_id"] == ANNA and call.params["reply_markup"]["inline_keyboard"]


@pytest.mark.asyncio
async def test_bad_html_is_rejected(bot):
    with pytest.raises(TelegramBadRequest, match='can\'t parse entities: Unsupported start tag "div"'):
        await bot.send_message(ANNA, "<div>hi</div>")
    with pytest.raises(TelegramBadRequest, match="Can't find end tag corresponding to start tag b"):
        await bot.send_message(ANNA, "<b>hi")
    await bot.send_message(ANNA, "<b>hi</b>", parse_mode=None)  # not parsed without parse_mode


@pytest.mark.asyncio
async def test_text_length_counts_utf16_after_parsing(fake, bot):
    await bot.send_message(ANNA, "😀" * 2048)  # 4096 UTF-16 units: the limit exactly
    await bot.send_message(ANNA, "<b>" + "a" * 4096 + "</b>")  # tags do not count
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(ANNA, "😀" * 2048 + "a")
    for empty in ("<b></b>", "  \n "):
        with pytest.raises(TelegramBadRequest, match="message text is empty"):
            await bot.send_message(ANNA, empty)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(ANNA, "")


@pytest.mark.asyncio
async def test_send_photo_upload_and_caption(fake, bot):
    photo = BufferedInputFile(b"\x89PNG" + b"0" * 1000, filename="chart.png")
    sent = await bot.send_photo(ANNA, photo, caption="<i>Rezultāti</i>")
    assert sent.caption == "Rezultāti" and sent.photo
    stored = fake.last_message(ANNA)
    assert stored.photo and stored.photo_size == 1004 and stored.caption == "Rezultāti"
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(ANNA, photo, caption="x" * 1025)
    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await bot.edit_message_text("new", chat_id=ANNA, message_id=sent.message_id)


@pytest.mark.asyncio
async def test_button_checks(bot):
    await bot.send_message(ANNA, "ok", reply_markup=keyboard(("64", "x" * 64)))
    for data in ("x" * 65, "ā" * 33):  # 64 bytes of UTF-8, not characters
        with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
            await bot.send_message(ANNA, "too long data", reply_markup=keyboard(("b", data)))
    bare = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="no action")]])
    with pytest.raises(TelegramBadRequest, match="can't parse inline keyboard button: Text buttons are unallowed"):
        await bot.send_message(ANNA, "bare button", reply_markup=bare)
    url = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="web", url="https://manabalss.lv")]])
    await bot.send_message(ANNA, "url button", reply_markup=url)


@pytest.mark.asyncio
async def test_edits_and_not_modified(fake, bot):
    markup = keyboard(("A", "a"))
    sent = await bot.send_message(ANNA, "<b>Text</b>", reply_markup=markup)
    with pytest.raises(TelegramBadRequest, match="message is not modified: specified new message content"):
        await bot.edit_message_text("<b>Text</b>", chat_id=ANNA, message_id=sent.message_id, reply_markup=markup)
    # Same plain text but different formatting is a change, as in Telegram.
    edited = await bot.edit_message_text("Text", chat_id=ANNA, message_id=sent.message_id, reply_markup=markup)
    assert edited.text == "Text" and edited.edit_date
    # Editing the text without reply_markup drops the keyboard.
    await bot.edit_message_text("Text 2", chat_id=ANNA, message_id=sent.message_id)
    assert fake.last_message(ANNA).reply_markup is None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=ANNA, message_id=sent.message_id)
    await bot.edit_message_reply_markup(chat_id=ANNA, message_id=sent.message_id, reply_markup=markup)
    assert fake.last_message(ANNA).buttons == [[("A", "a")]]
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=ANNA, message_id=999)


@pytest.mark.asyncio
async def test_delete_message(fake, bot):
    sent = await bot.send_message(ANNA, "bye")
    assert await bot.delete_message(ANNA, sent.message_id)
    assert fake.messages(ANNA) == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(ANNA, sent.message_id)


@pytest.mark.asyncio
async def test_unknown_chat_blocked_and_deactivated(fake, bot):
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(424242, "hello?")
    fake.block(ANNA)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ANNA, "hello")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_chat_action(ANNA, "typing")
    fake.unblock(ANNA)
    await bot.send_message(ANNA, "hello again")
    fake.deactivate(BORIS)
    with pytest.raises(TelegramForbiddenError, match="user is deactivated"):
        await bot.send_message(BORIS, "hello")


@pytest.mark.asyncio
async def test_callback_queries(fake, bot):
    sent = await bot.send_message(ANNA, "q", reply_markup=keyboard(("A", "a")))
    update = fake.callback_update(ANNA, sent.message_id, "a")
    query_id = update["callback_query"]["id"]
    parsed = Update.model_validate(update, context={"bot": bot})
    assert parsed.callback_query.message.text == "q" and parsed.callback_query.data == "a"
    assert [q.id for q in fake.unanswered_callbacks()] == [query_id]
    with pytest.raises(TelegramBadRequest, match="MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(query_id, text="x" * 201)
    assert await bot.answer_callback_query(query_id, text="Paldies!", show_alert=True)
    assert fake.unanswered_callbacks() == []
    assert fake.callbacks[query_id].answer_text == "Paldies!"
    with pytest.raises(TelegramBadRequest, match="query is too old and response timeout expired"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query("nonsense")
    stale = Update.model_validate(fake.callback_update(ANNA, 999, "a"), context={"bot": bot})
    assert isinstance(stale.callback_query.message, InaccessibleMessage)


@pytest.mark.asyncio
async def test_other_methods(fake, bot):
    await bot.delete_webhook(drop_pending_updates=True)
    await bot.set_my_commands([BotCommand(command="start", description="Sākt")])
    await bot.set_my_commands([BotCommand(command="start", description="Начать")], language_code="ru")
    assert [c.description for c in await bot.get_my_commands(language_code="ru")] == ["Начать"]
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == []
    await bot.set_chat_menu_button()
    assert await bot.send_chat_action(ANNA, "typing")
    chat = await bot.get_chat(ANNA)
    assert (chat.id, chat.type, chat.first_name) == (ANNA, "private", "Anna")
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.log_out() and await bot.close()


# ---------------------------------------------------------------- fault injection and limits


@pytest.mark.asyncio
async def test_fail_next_429_and_500(fake, bot):
    fake.fail_next("sendMessage", 429, retry_after=7, times=2)
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(ANNA, "x")
        assert caught.value.retry_after == 7
    await bot.send_message(ANNA, "third time works")
    fake.fail_next("sendMessage", 500, "Internal Server Error")
    with pytest.raises(TelegramServerError, match="Internal Server Error"):
        await bot.send_message(ANNA, "x")
    fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=BORIS)
    await bot.send_message(ANNA, "Anna is not affected")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(BORIS, "x")
    assert [c.ok for c in fake.calls("sendMessage")] == [False, False, True, False, True, False]


@pytest.mark.asyncio
async def test_delay_next_causes_timeout(fake, bot):
    fake.delay_next("sendMessage", 2)
    with pytest.raises(TelegramNetworkError, match="Request timeout"):
        await bot.send_message(ANNA, "slow", request_timeout=1)


@pytest.mark.asyncio
async def test_held_calls_are_answered_on_release(fake, bot):
    fake.hold("sendMessage", after=1)
    await bot.send_message(ANNA, "answered")
    held = asyncio.create_task(bot.send_message(ANNA, "held"))
    await eventually(lambda: fake.held == 1, what="the second call is held")
    assert [call.params["text"] for call in fake.calls("sendMessage")] == ["answered"]
    fake.release()
    assert (await held).text == "held"
    assert (await bot.send_message(ANNA, "no longer held")).text == "no longer held"


@pytest.mark.asyncio
async def test_rate_limits(fake, bot):
    await bot.send_message(ANNA, "1")
    await bot.send_message(ANNA, "2")  # off by default
    fake.enable_rate_limits(per_chat_per_second=1, global_per_second=30)
    await bot.send_message(ANNA, "3")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(ANNA, "4")
    assert caught.value.retry_after == 1
    await bot.send_message(BORIS, "other chats have their own budget")

    fake.enable_rate_limits(per_chat_per_second=1000, global_per_second=3)
    for text in ("a", "b", "c"):
        await bot.send_message(ANNA, text)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(BORIS, "d")
    fake.disable_rate_limits()
    await bot.send_message(BORIS, "e")


async def test_paid_broadcasts_are_recorded_and_have_their_own_limit(fake, bot):
    fake.enable_rate_limits(per_chat_per_second=1000, global_per_second=2, paid_per_second=4)
    await bot.send_message(ANNA, "free 1")
    await bot.send_message(ANNA, "free 2")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(ANNA, "free 3")  # the free limit is reached
    await bot.send_message(BORIS, "paid 1", allow_paid_broadcast=True)  # not held to the free limit
    await bot.send_message(BORIS, "paid 2", allow_paid_broadcast=True)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(BORIS, "paid 3", allow_paid_broadcast=True)  # 4 sends a second in all
    assert [(message.text, message.paid_broadcast) for message in fake.messages(BORIS)] == [
        ("paid 1", True), ("paid 2", True)]
    assert [call.params.get("allow_paid_broadcast") for call in fake.calls("sendMessage") if call.ok] == [
        None, None, True, True]


# ---------------------------------------------------------------- updates and long polling


async def poll_waiting(fake: FakeTelegram, polls: int) -> None:
    await eventually(lambda: fake.polls_received >= polls, what=f"getUpdates number {polls} arrived")


@pytest.mark.asyncio
async def test_long_polling_returns_a_pushed_update_early(fake, bot):
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await poll_waiting(fake, 1)
    started = time.monotonic()
    pushed = fake.push_update(fake.message_update(ANNA, "/start ref"))
    updates = await poll
    assert time.monotonic() - started < 30  # woken by the update, not by the poll's timeout
    assert [u.update_id for u in updates] == [pushed["update_id"]]
    message = updates[0].message
    assert message.text == "/start ref" and message.entities[0].type == "bot_command"
    assert message.entities[0].length == 6

    # The update stays until confirmed by an offset past it.
    assert [u.update_id for u in await bot.get_updates()] == [pushed["update_id"]]
    waiter = asyncio.create_task(fake.wait_confirmed(pushed["update_id"]))
    assert await bot.get_updates(offset=pushed["update_id"] + 1, timeout=0) == []
    await waiter
    assert fake.pending_updates == []


@pytest.mark.asyncio
async def test_long_polling_times_out_and_conflicts(fake, bot):
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 < time.monotonic() - started < 30  # it waited its second, and did not hang (generous: load)
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await poll_waiting(fake, 2)
    second = asyncio.create_task(bot.get_updates(timeout=1))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await first
    assert await second == []
    await bot.set_webhook("https://example.lv/hook")
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()


@pytest.mark.asyncio
async def test_stop_ends_a_long_poll_quickly():
    async with FakeTelegram(TOKEN) as server:
        bot = make_bot(server)
        poll = asyncio.create_task(bot.get_updates(timeout=60))
        await poll_waiting(server, 1)
        started = time.monotonic()
        await server.stop()
        assert await poll == []
        assert time.monotonic() - started < 60  # ended by the stop, not by the poll's timeout
        await close_session(bot)


@pytest.mark.asyncio
async def test_update_builders_validate_as_aiogram_updates(fake, bot):
    for update in (
        fake.message_update(ANNA, "Labdien"),
        fake.sticker_update(ANNA),
        fake.photo_update(ANNA, caption="foto"),
        fake.my_chat_member_update(ANNA, "kicked"),
        fake.my_chat_member_update(ANNA, "member"),
    ):
        parsed = Update.model_validate(update, context={"bot": bot})
        assert parsed.event_type in {"message", "my_chat_member"}
    ids = [fake.message_update(ANNA, str(n))["update_id"] for n in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3


# ---------------------------------------------------------------- the story driver


def demo_router() -> Router:
    router = Router()

    @router.message(CommandStart())
    async def start(message: TgMessage) -> None:
        await message.answer("Sveiki, <b>Anna</b>!", reply_markup=keyboard(("Balsot", "vote"), ("Klusēt", "mute")))

    @router.callback_query(F.data == "vote")
    async def vote(query: CallbackQuery) -> None:
        await query.message.edit_text("Paldies par balsi!", reply_markup=keyboard(("Atsaukt", "undo")))
        await query.answer("Balss saskaitīta")

    @router.callback_query(F.data == "mute")
    async def forgets_to_answer(query: CallbackQuery) -> None:
        await query.message.answer("Labi.")

    @router.message(F.sticker)
    async def sticker(message: TgMessage) -> None:
        await message.answer("Jauka uzlīme")

    return router


@pytest.mark.asyncio
async def test_resident_story_via_dispatcher(fake, bot):
    dp = Dispatcher()
    dp.include_router(demo_router())
    anna = Resident(fake, feed_via_dispatcher(dp, bot), ANNA)

    reply = await anna.send("/start")
    assert reply.text == "Sveiki, Anna!"
    assert reply.buttons == ["Balsot", "Klusēt"]
    assert anna.last.html == "Sveiki, <b>Anna</b>!"

    reply = await anna.press("Balsot")
    assert reply.edited[0].text == "Paldies par balsi!"
    assert reply.alerts[0].text == "Balss saskaitīta" and not reply.alerts[0].show_alert
    assert reply.buttons == ["Atsaukt"] and anna.last.text == "Paldies par balsi!"

    with pytest.raises(AssertionError, match=r"no button 'Balsot'.*buttons: 'Atsaukt'"):
        await anna.press("Balsot")
    first_keyboard = anna.last
    await anna.send("/start")
    with pytest.raises(AssertionError, match="did not answer the callback query of button 'Klus'"):
        await anna.press("Klus")  # a unique substring of "Klusēt"
    with pytest.raises(AssertionError, match="did not answer"):  # no handler for "undo"
        await anna.press("Atsaukt", message=first_keyboard)
    assert [q.data for q in fake.unanswered_callbacks()] == ["mute", "undo"]

    assert (await anna.send_sticker()).text == "Jauka uzlīme"
    stale = await anna.press_data("gone", 999, expect_answer=False)
    assert stale.calls == [] and not stale.answered


@pytest.mark.asyncio
async def test_a_call_in_a_webhook_response_is_made_and_recorded(fake, bot):
    """A handler that returns a method: aiogram's webhook handler writes it into the response (multipart), and
    the fake makes it as Telegram does."""
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler
    from aiohttp.test_utils import TestServer

    dp = Dispatcher()
    dp.message.register(lambda message: message.answer(f"<b>{message.text}</b> atpakaļ"))
    dp.callback_query.register(lambda query: query.answer("Saņemts ✓", show_alert=True))
    app = aiohttp.web.Application()
    SimpleRequestHandler(dp, bot, secret_token="hook-Secret", handle_in_background=False).register(app, path="/hook")
    server = TestServer(app)
    await server.start_server()
    try:
        anna = Resident(fake, feed_via_webhook(fake, str(server.make_url("/hook")), "hook-Secret"), ANNA)
        reply = await anna.send("sveiki")
        assert reply.text == "sveiki atpakaļ" and reply.calls[0].in_webhook_response
        pressed = await anna.press_data("any", reply.sent[0].message_id)
        assert pressed.alerts == [Alert("Saņemts ✓", True)] and pressed.calls[0].in_webhook_response
    finally:
        await server.close()
    # Other encodings Telegram reads; its refusals are recorded like a request's, and the bot never hears of them.
    sent = await fake.webhook_response("application/json", b'{"method": "sendMessage", "chat_id": 1001, '
                                                           b'"text": "<i>json</i>", "parse_mode": "HTML"}')
    assert sent.ok and fake.last_message(ANNA).text == "json" and sent in fake.requests
    refused = await fake.webhook_response("application/x-www-form-urlencoded", b"method=sendMessage&chat_id=1001")
    assert refused.error_code == 400 and refused.in_webhook_response
    assert await fake.webhook_response("application/json", b"{}") is None


@pytest.mark.asyncio
async def test_resident_story_via_polling(fake, bot):
    dp = Dispatcher()
    dp.include_router(demo_router())
    handled = HandledUpdates()
    with handled.listening():
        polling = asyncio.create_task(
            dp.start_polling(bot, polling_timeout=1, handle_signals=False, close_bot_session=False)
        )
        try:
            anna = Resident(fake, feed_via_polling(fake, handled), ANNA)
            reply = await anna.send("/start")
            assert reply.buttons == ["Balsot", "Klusēt"]
            reply = await anna.press("Balsot")
            assert reply.text == "Paldies par balsi!"
        finally:
            await dp.stop_polling()
            await polling
