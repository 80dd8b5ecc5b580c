"""Issue 9, integrity findings: a draft is sent once, reports do not hide ideas on their own, Telegram's lengths
in UTF-16, one polling process per SQLite file, and campaign files that cannot exhaust the machine."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.config import Settings
from bot.domain import proposals
from bot.i18n import create_i18n
from bot.ui.moderation_screens import ScreensRenderer
from storage.models import Category, Idea, IdeaStatus, User
from storage.users import get_or_create_user
from tests import test_e2e_moderation as moderation_stories
from tests.conftest import CAMPAIGN_OPEN, TEST_TOKEN, starts_processes

moderation_app = moderation_stories.mod_app  # the moderators' app fixture (it refuses any failed request)

TITLE = "Pašvaldību sēžu protokoli vienuviet"
BODY = "Visu pašvaldību domju sēžu protokoli būtu publicējami vienā vietnē, ar meklēšanu pēc tēmas un datuma."


# ------------------------------------------------------------------ 7. a draft is submitted once

async def test_concurrent_presses_of_one_drafts_send_store_one_proposal(example_sessions):
    sessions = example_sessions
    async with sessions() as session:
        author = await get_or_create_user(session, 8001, "lv")
        category = (await session.exec(select(Category).order_by(Category.id))).first()
    draft = {"category_id": category.id, "title": TITLE, "body": BODY, "language": "lv",
             proposals.DRAFT_KEY: proposals.new_draft_key()}
    settings = Settings(max_pending_proposals=3)

    async def press() -> proposals.SendOutcome:
        async with sessions() as session:
            user = await session.get(User, author.id)
            return await proposals.send(session, user, dict(draft), CAMPAIGN_OPEN, settings, "manabalss_test_bot",
                                        ScreensRenderer(create_i18n()))

    outcomes = await asyncio.gather(*(press() for _ in range(6)))
    async with sessions() as session:
        count = (await session.exec(select(func.count()).select_from(Idea).where(
            Idea.author_id == author.id, Idea.status == IdeaStatus.PENDING))).one()
    assert count == 1
    assert {outcome.idea.id for outcome in outcomes} == {outcomes[0].idea.id}  # every press sees the one proposal


def test_a_draft_without_a_key_gets_the_same_key_on_every_press():
    draft = {"category_id": 1, "title": TITLE, "body": BODY}
    assert proposals.submission_key(5, draft) == proposals.submission_key(5, dict(draft))
    assert proposals.submission_key(5, draft) != proposals.submission_key(6, draft)


# ------------------------------------------------------------------ 10. lengths in UTF-16

EMOJI_TITLE = ("🗳️🏛" * 20 + "Atklāti budžeti visiem iedzīvotājiem")[:120]
EMOJI_BODY = ("📊🏛️ Atvērti dati " * 200)[:2000]


async def test_an_emoji_heavy_proposal_at_the_maximum_length_can_be_moderated(moderation_app):
    from tests.test_e2e_moderation import ADMIN, proposal, resident

    assert proposals.check_title(EMOJI_TITLE).problem is None and proposals.check_body(EMOJI_BODY).problem is None
    texts = {f"{kind}_{language}": text for language in ("lv", "ru", "en")
             for kind, text in (("title", EMOJI_TITLE), ("body", EMOJI_BODY))}
    idea_id = await proposal(moderation_app, 4001, **texts)
    admin = await resident(moderation_app, user_id=ADMIN)
    for command in (f"/idea {idea_id}", f"/publish {idea_id}", f"/status {idea_id} under_review 📅 " + "🗓" * 300):
        reply = await admin.send(command)
        assert not reply.errors, (command, reply.describe())
        assert f"#{idea_id}" in reply.text
    async with moderation_app.sessions() as session:
        assert (await session.get(Idea, idea_id)).status == IdeaStatus.UNDER_REVIEW


def test_one_length_function_counts_emoji_as_two_units():
    from bot.domain import limits
    from bot.ui.text import shorten

    assert limits.utf16_length("👍ā") == 3
    assert limits.cut("👍" * 10, 5) == "👍👍…"
    assert limits.utf16_length(shorten("🗳" * 300, 200)) <= 200


# ------------------------------------------------------------------ 12. one polling process per SQLite file

@starts_processes  # two bot processes
def test_a_second_polling_process_on_the_same_sqlite_file_is_refused_with_one_line(tmp_path):
    from storage.process_lock import lock_database
    from tests.test_cli import run

    database = tmp_path / "manabalss.db"
    held = lock_database(f"sqlite+aiosqlite:///{database}")  # the first bot process
    try:
        result = run(tmp_path, BOT_TOKEN=TEST_TOKEN, TELEGRAM_API_URL="http://127.0.0.1:9")  # the same file
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        # The first log line says what the process connects to; the refusal is the one line after it.
        refusal = result.stderr.strip().splitlines()[-1]
        assert refusal.startswith("error: another bot process is already running"), result.stderr
    finally:
        held.close()
    assert lock_database(f"sqlite:///{database}") is not None  # free again once the first one stops
    assert lock_database("postgresql+asyncpg://postgres@127.0.0.1/test") is None


# ------------------------------------------------------------------ 13. campaign files cannot exhaust the machine

ALIAS_BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
campaign: [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_yaml_aliases_and_oversized_files_are_refused_before_parsing(tmp_path):
    from bot.domain import campaign_file
    from bot.domain.campaign_file import CampaignFileError, load_campaign_file

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(ALIAS_BOMB)
    with pytest.raises(CampaignFileError, match="aliases"):
        load_campaign_file(bomb)
    big = tmp_path / "big.yaml"
    with big.open("w") as handle:  # sparse: no 5 MB written to the disk
        handle.truncate(campaign_file.MAX_FILE_BYTES + 1)
    with pytest.raises(CampaignFileError, match="at most 4 MB"):
        load_campaign_file(big)
    assert campaign_file._SafeLoader is getattr(__import__("yaml"), "CSafeLoader", campaign_file._SafeLoader)


# ------------------------------------------------------------------ 8. reports: fresh accounts hide nothing

async def test_only_reporters_with_a_history_hide_an_idea(example_sessions):
    from datetime import timedelta

    from bot.domain import reports, voting

    sessions, settings = example_sessions, Settings(reports_to_hide=3, reporter_min_age_days=3)
    async with sessions() as session:
        target, other = (await session.exec(select(Idea.id).where(Idea.status == IdeaStatus.PUBLISHED)
                                            .order_by(Idea.id).limit(2))).all()

    async def report(user_id: int, now) -> reports.ReportOutcome:
        async with sessions() as session:
            user = await session.get(User, user_id)
            return await reports.report_idea(session, user, target, "spam", now, settings, "manabalss_test_bot",
                                             ScreensRenderer(create_i18n()))

    async with sessions() as session:
        for user_id in (8101, 8102, 8103):  # fresh accounts: joined just now, did nothing else
            session.add(User(id=user_id, language="lv", created_at=CAMPAIGN_OPEN))
        for user_id in (8201, 8202, 8203):  # a week in the bot, supported another idea before
            session.add(User(id=user_id, language="lv", created_at=CAMPAIGN_OPEN - timedelta(days=7)))
        await session.commit()
        for user_id in (8201, 8202, 8203):
            await voting.support(session, other, user_id, CAMPAIGN_OPEN - timedelta(days=1))
    for user_id in (8101, 8102, 8103):
        outcome = await report(user_id, CAMPAIGN_OPEN)
        assert outcome.recorded and not outcome.hidden
    assert [(await report(user_id, CAMPAIGN_OPEN)).hidden for user_id in (8201, 8202, 8203)] == [False, False, True]
