"""Moderation rules without a database or Telegram: the lifecycle, who moderates, parsing the commands, and
the limits of what the moderation screens render."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest

from bot.domain import lifecycle
from bot.domain import moderation as mod
from bot.i18n import create_i18n
from bot.ui import callbacks as cb
from bot.ui import moderation_screens as ms
from handlers import moderation_args as parse
from storage.models import Category, Idea, IdeaStatus, Report, StatusChange, User

S = IdeaStatus
ALL = list(S)
ALLOWED = {
    (S.PENDING, S.PUBLISHED), (S.PENDING, S.REJECTED), (S.PENDING, S.MERGED),
    (S.PUBLISHED, S.UNDER_REVIEW), (S.PUBLISHED, S.REJECTED), (S.PUBLISHED, S.MERGED),
    (S.UNDER_REVIEW, S.INCLUDED), (S.UNDER_REVIEW, S.NOT_INCLUDED),
    (S.INCLUDED, S.IMPLEMENTED),
}


@pytest.mark.parametrize("current", ALL)
@pytest.mark.parametrize("target", ALL)
def test_the_lifecycle_allows_exactly_the_table(current, target):
    assert lifecycle.can_transition(current, target) is ((current, target) in ALLOWED)


@pytest.mark.parametrize("final", [S.NOT_INCLUDED, S.REJECTED, S.MERGED, S.IMPLEMENTED])
def test_final_statuses_lead_nowhere(final):
    assert lifecycle.next_statuses(final) == frozenset()


def test_only_publish_may_bring_back_a_rejected_idea():
    assert not lifecycle.can_transition(S.REJECTED, S.PUBLISHED)
    assert lifecycle.can_transition(S.REJECTED, S.PUBLISHED, republish=True)
    # The exception is for rejected ideas only, and only towards "published".
    assert not lifecycle.can_transition(S.MERGED, S.PUBLISHED, republish=True)
    assert not lifecycle.can_transition(S.NOT_INCLUDED, S.PUBLISHED, republish=True)
    assert not lifecycle.can_transition(S.REJECTED, S.UNDER_REVIEW, republish=True)


ADMINS = frozenset({1})


@pytest.mark.parametrize(("user", "expected"), [
    (User(id=1), True),  # an admin
    (User(id=2, is_moderator=True), True),
    (User(id=3), False),  # a resident
    (User(id=2, is_moderator=True, is_banned=True), False),
    (User(id=1, is_banned=True), False),  # even an admin, once banned
    (None, False),
])
def test_who_is_a_moderator(user, expected):
    assert lifecycle.is_moderator(user, ADMINS) is expected


def test_banned_residents_may_not_participate():
    assert lifecycle.may_participate(User(id=5))
    assert not lifecycle.may_participate(User(id=5, is_banned=True))


@pytest.mark.parametrize(("args", "expected"), [
    ("12 into 7", (12, 7)),
    ("12 7", (12, 7)),
    ("#12 into #7", (12, 7)),
    ("  12   INTO   7 ", (12, 7)),
    ("12 -> 7", (12, 7)),
    ("12 → 7", (12, 7)),
    ("12 to 7", (12, 7)),
])
def test_merge_arguments(args, expected):
    assert parse.parse_merge(args) == parse.MergeArgs(*expected)


@pytest.mark.parametrize("args", [None, "", "12", "12 into", "into 7", "a into b", "12 into 7 8", "12 onto 7",
                                  "-12 into 7", "1234567890123 into 7"])
def test_bad_merge_arguments(args):
    assert parse.parse_merge(args) is None


@pytest.mark.parametrize(("args", "expected"), [
    ("12 under_review", (12, S.UNDER_REVIEW, None)),
    ("12 Under-Review The working group meets on 5 May",
     (12, S.UNDER_REVIEW, "The working group meets on 5 May")),
    ("#3 included  in   the plan ", (3, S.INCLUDED, "in the plan")),
    ("3 not_included", (3, S.NOT_INCLUDED, None)),
    ("3 implemented Done!", (3, S.IMPLEMENTED, "Done!")),
    ("3 rejected Off-topic", (3, S.REJECTED, "Off-topic")),
    ("3 published", (3, S.PUBLISHED, None)),
])
def test_status_arguments(args, expected):
    assert parse.parse_status(args) == parse.StatusArgs(*expected)


@pytest.mark.parametrize("args", [None, "", "12", "12 merged", "12 pending", "12 done", "x under_review",
                                  "under_review 12"])
def test_bad_status_arguments(args):
    assert parse.parse_status(args) is None


def test_a_note_is_one_line_and_limited():
    parsed = parse.parse_status("1 included " + "a\n b " * 400)
    assert "\n" not in parsed.note and len(parsed.note) == lifecycle.MAX_NOTE_LENGTH


def test_reject_needs_a_reason():
    assert parse.parse_reject("12 Not about the government") == parse.RejectArgs(12, "Not about the government")
    assert parse.parse_reject("12") is None
    assert parse.parse_reject("12   ") is None
    assert parse.parse_reject("twelve because") is None


def test_ids_and_users():
    assert parse.parse_idea_id("12") == 12 and parse.parse_idea_id("#12") == 12
    assert parse.parse_idea_id("12 13") is None and parse.parse_idea_id(None) is None
    assert parse.parse_user_id("123456789") == 123456789
    assert parse.parse_user_id("0") is None and parse.parse_user_id("-5") is None
    assert parse.parse_user_id("@anna") is None
    assert parse.parse_moderators(None) == ("list", None)
    assert parse.parse_moderators("add 42") == ("add", 42)
    assert parse.parse_moderators("REMOVE 42") == ("remove", 42)
    assert parse.parse_moderators("add") is None and parse.parse_moderators("promote 42") is None
    assert parse.parse_audit("12") == ("idea", 12)
    assert parse.parse_audit("user 42") == ("user", 42)
    assert parse.parse_audit("") is None and parse.parse_audit("user") is None


def test_common_reasons_are_codes_in_the_note():
    note = lifecycle.reason_note("dup")
    assert lifecycle.reason_code(note) == "dup"
    assert lifecycle.reason_code("reason:nonsense") is None and lifecycle.reason_code("typed words") is None


# ------------------------------------------------------------------ the screens' texts (pure functions too)

@pytest.fixture(scope="module")
def i18n():
    return create_i18n()


def in_language(i18n, language, function, *args, **kwargs):
    with i18n.context(), i18n.use_locale(language):
        return function(*args, **kwargs)


@pytest.mark.parametrize("command", ["idea", "publish", "reject", "merge", "translate", "status", "ban", "unban",
                                     "moderators", "audit"])
@pytest.mark.parametrize("language", ["lv", "ru", "en"])
def test_usage_messages_are_in_the_moderators_language(i18n, language, command):
    text = in_language(i18n, language, ms.usage, command)
    assert f"/{command}" in text
    msgid = {"merge": "Usage: /merge N into M (idea N repeats idea M), for example /merge 12 into 7"}.get(command)
    if msgid:
        assert i18n.gettext(msgid, locale=language) in text


def test_the_status_usage_lists_the_codes(i18n):
    text = in_language(i18n, "en", ms.usage, "status")
    for code in ("under_review", "included", "not_included", "implemented", "rejected", "published"):
        assert code in text


def visible(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def test_the_card_fits_a_message_and_escapes_everything(i18n):
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    nasty = "<b>&amp; ‹script› 💥</b> "
    idea = Idea(id=2_000_000_000, campaign_id=1, category_id=1, status=S.PUBLISHED, hidden=True, author_id=10**15,
                version=10**6, created_at=now, supporters_count=12345,
                **{f"title_{lang}": (nasty * 40)[:300] for lang in ("lv", "ru", "en")},
                **{f"body_{lang}": nasty * 500 for lang in ("lv", "ru", "en")})
    category = Category(id=1, campaign_id=1, key="k", title_lv=nasty)
    history = [StatusChange(idea_id=idea.id, status=S.PUBLISHED, note=nasty * 30, created_at=now)] * 30
    reports = [Report(idea_id=idea.id, user_id=n, reason=f"<r{n % 20}>", created_at=now) for n in range(200)]
    card = mod.ModerationCard(idea, category, history, reports)
    for language in ("lv", "ru", "en"):
        text = in_language(i18n, language, ms.card_text, card, language, "✅ notice")
        assert len(visible(text).encode("utf-16-le")) // 2 <= 4096
        assert "<script" not in text and "<r1>" not in text and "&lt;r1&gt;" in text
        markup = in_language(i18n, language, ms.card_markup, card, "some_bot")
        for row in markup.inline_keyboard:
            for button in row:
                assert button.url or len(button.callback_data.encode()) <= 64


def test_callback_data_stays_small_with_the_largest_ids():
    data = cb.Mod(act=cb.MOD_TYPE_REASON, id=lifecycle.MAX_DB_INT, v=lifecycle.MAX_DB_INT, r="unclear").pack()
    assert len(data.encode()) <= 64
    assert len(cb.NotifyToggle(on=0, src="n").pack()) <= 64


def test_a_notification_is_in_the_readers_language_with_its_buttons(i18n):
    idea = Idea(id=7, campaign_id=1, category_id=1, status=S.REJECTED, status_note=lifecycle.reason_note("notog"),
                title_lv="Atklāti <dati>", title_ru="Открытые данные", version=3)
    screen = in_language(i18n, "ru", ms.status_notice, idea, "ru", True)
    assert "Открытые данные" in screen.text
    assert i18n.gettext("It is not about open government.", locale="ru") in screen.text
    buttons = [button for row in screen.markup.inline_keyboard for button in row]
    # A rejected idea cannot be opened; the way to stop notifications is always there.
    assert [button.callback_data for button in buttons] == [cb.NotifyToggle(on=0, src="n").pack()]
    latvian = in_language(i18n, "lv", ms.status_notice, idea, "lv", False)
    assert "Atklāti &lt;dati&gt;" in latvian.text


def test_a_typed_note_is_escaped_and_a_code_is_translated(i18n):
    assert in_language(i18n, "en", ms.note_text, "<i>why</i>") == "&lt;i&gt;why&lt;/i&gt;"
    assert in_language(i18n, "en", ms.note_text, lifecycle.reason_note("dup")) == \
        "It repeats an idea that has already been proposed."
    assert in_language(i18n, "en", ms.note_text, None) == ""
