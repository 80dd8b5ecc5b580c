"""The action plan in one place: importing it, residents reading and following it, moderators changing it
(and residents not), end to end through the fake Bot API server."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot import jobs
from bot.delivery import Sender
from bot.domain.campaign_file import CampaignFileError, load_campaign_file, parse_campaign
from bot.domain.campaigns import import_campaign
from bot.i18n import create_i18n
from bot.job_context import JobContext
from bot.ui import callbacks as cb
from storage.models import AuditEntry, Commitment, CommitmentFollow, Idea, IdeaCommitment, Milestone, PlanEvent
from tests.conftest import App
from tests.i18n_helpers import t
from tests.staff_app import app_with_admin

ADMIN = 7101


@pytest.fixture
async def plan_app(fake_telegram, sqlite_sessions, clock):
    async for application in app_with_admin(fake_telegram, sqlite_sessions, clock, ADMIN):
        yield application


async def commitment(app: App, key: str) -> Commitment:
    async with app.sessions() as session:
        return (await session.exec(select(Commitment).where(Commitment.key == key))).one()


async def milestones(app: App, commitment_id: int) -> list[Milestone]:
    async with app.sessions() as session:
        query = select(Milestone).where(Milestone.commitment_id == commitment_id).order_by(Milestone.position)
        return list((await session.exec(query)).all())


async def plan_snapshot(app: App) -> tuple:
    async with app.sessions() as session:
        rows = []
        for model in (Commitment, Milestone, IdeaCommitment, PlanEvent, AuditEntry):
            rows.append(sorted(json.dumps(row.model_dump(), default=str, sort_keys=True)
                               for row in (await session.exec(select(model))).all()))
        return tuple(rows)


# ------------------------------------------------------------------ the campaign file

async def test_the_example_plan_imports_once_and_a_reimport_keeps_the_moderators_changes(sessions):
    spec = load_campaign_file("bot/data/atverta-latvija.yaml")
    async with sessions() as session:
        first = await import_campaign(session, spec)
    assert first.plan["commitments"] == {"created": 6, "updated": 0, "unchanged": 0}
    assert first.plan["groups"] == {"created": 2, "updated": 0, "unchanged": 0}
    async with sessions() as session:
        budgets = (await session.exec(select(Commitment).where(Commitment.key == "open-municipal-budget-data"))).one()
        budgets.status = "done"  # as a moderator would set it
        await session.commit()
        links = (await session.exec(select(IdeaCommitment))).all()
        assert len(links) == 11
        assert len((await session.exec(select(Milestone))).all()) == 12

    async with sessions() as session:
        again = await import_campaign(session, spec)
    assert again.plan["commitments"] == {"created": 0, "updated": 0, "unchanged": 6}
    assert again.plan["groups"] == {"created": 0, "updated": 0, "unchanged": 2}
    async with sessions() as session:
        assert len((await session.exec(select(Commitment))).all()) == 6
        assert len((await session.exec(select(Milestone))).all()) == 12
        assert len((await session.exec(select(IdeaCommitment))).all()) == 11
        budgets = (await session.exec(select(Commitment).where(Commitment.key == "open-municipal-budget-data"))).one()
        assert budgets.status == "done"


def _plan_file(meeting: dict | None = None, **commitment) -> dict:
    base = {"key": "c1", "title": {"lv": "Saistība"}, "description": {"lv": "Apraksts"},
            "institution": {"lv": "Valsts kanceleja"}}
    return {"campaign": {
        "slug": "x1", "title": {"lv": "K"}, "description": {"lv": "D"},
        "starts_at": "2026-11-16T00:00:00+02:00", "ends_at": "2026-12-20T23:59:00+02:00",
        "categories": [{"key": "a", "title": {"lv": "A"}}],
        "ideas": [{"key": "i1", "category": "a", "title": {"lv": "Ideja"}, "body": {"lv": "Teksts"}}],
        "plan": [{**base, **commitment}],
        "groups": [{"key": "g1", "commitment": "nope", "title": {"lv": "G"}, "description": {"lv": "D"},
                    "meetings": [{"starts_at": "2026-12-01T10:00:00+02:00", **(meeting or {})}]}],
    }}


def test_a_bad_plan_is_refused_with_one_line_per_problem():
    with pytest.raises(CampaignFileError) as error:
        parse_campaign(_plan_file(status="finished", ideas=["i1", "missing"],
                                  milestones=[{"title": {"lv": "M"}, "due": "31.03.2027"}]))
    problems = error.value.problems
    assert any(line.startswith("campaign.plan[0].status: must be one of drafting") for line in problems)
    assert any(line.startswith("campaign.plan[0].milestones[0].due:") for line in problems)
    assert any("groups[0].meetings[0]" in line and "place" in line for line in problems)
    with pytest.raises(CampaignFileError) as error:
        # The checks across fields run once every field is valid.
        parse_campaign(_plan_file(ideas=["i1", "missing"], meeting={"place": "Rīga"}))
    assert 'campaign.plan[0].ideas[1]: unknown idea "missing"' in error.value.problems
    assert 'campaign.groups[0].commitment: unknown commitment "nope"' in error.value.problems


# ------------------------------------------------------------------ residents

async def test_a_resident_reads_the_plan_opens_a_commitment_and_follows_it(plan_app):
    anna = plan_app.resident("lv")
    await anna.send("/start")
    menu = await anna.press(t("lv", "📈 Plan"))
    assert t("lv", "📈 <b>The action plan</b>").replace("<b>", "").replace("</b>", "") in menu.text
    for status in ("in progress", "agreed", "being drafted", "done"):
        assert t("lv", status) in menu.text
    assert "Pašvaldību budžeti kā atvērtie dati" in menu.text
    assert t("lv", "milestones: {done} of {total}", done=1, total=3) in menu.text
    # 25 November 2026 has passed on the test clock (27 November) and that milestone is not done.
    assert "⚠️" in menu.text

    card = await anna.press("Pašvaldību budžeti")
    assert "Viedās administrācijas un reģionālās attīstības ministrija" in card.text
    assert "Pirmās 10 pašvaldības publicē budžetu" in card.text and t("lv", "overdue") in card.text
    assert "Formāts publicēts data.gov.lv" in card.text
    assert "Pašvaldību budžeti kā atvērtie dati" in card.text
    async with plan_app.sessions() as session:
        linked = (await session.exec(select(Idea).where(Idea.key == "open-municipal-budgets"))).one()
    idea_button = next(text for text in card.buttons if text.startswith("1. 💡"))

    followed = await anna.press(t("lv", "🔔 Follow"))
    assert followed.alerts and followed.alerts[0].text == t(
        "lv", "🔔 You follow this commitment: its news comes in your weekly news.")
    assert t("lv", "🔕 Stop following") in followed.buttons
    # A double tap (an old Follow button pressed again) follows once.
    budgets = await commitment(plan_app, "open-municipal-budget-data")
    await anna.press_data(cb.Plan(act=cb.PLAN_FOLLOW, id=budgets.id).pack(), anna.last.message_id)
    async with plan_app.sessions() as session:
        assert len((await session.exec(select(CommitmentFollow))).all()) == 1

    opened = await anna.press(idea_button)
    assert opened.sent and linked.title_lv in opened.text

    stopped = await anna.press(t("lv", "🔕 Stop following"), message=followed.keyboard_message)
    assert t("lv", "🔔 Follow") in stopped.buttons


async def test_a_russian_resident_reads_the_plan_with_plural_forms(plan_app):
    ivan = plan_app.resident("ru")
    reply = await ivan.send("/plan")
    assert "Бюджеты самоуправлений как открытые данные" in reply.text
    assert t("ru", "milestones: {done} of {total}", done=1, total=3) in reply.text
    card = await ivan.press("Бюджеты самоуправлений")
    assert "Министерство умной администрации" in card.text


async def test_a_forged_or_outdated_plan_button_gets_a_friendly_answer(plan_app):
    anna = plan_app.resident("lv")
    await anna.send("/plan")
    reply = await anna.press_data(cb.Plan(act=cb.PLAN_FOLLOW, id=999_999).pack(), anna.last.message_id)
    assert reply.answered and t("lv", "😕 This commitment was not found. Here is the plan.") in reply.text
    reply = await anna.press_data("pl:c:abc", anna.last.message_id)
    assert reply.answered


# ------------------------------------------------------------------ moderators

async def test_a_moderator_changes_the_plan_and_every_change_is_audited(plan_app):
    admin = plan_app.resident("lv", user_id=ADMIN)
    await admin.send("/start")
    listing = await admin.send("/commitment")
    budgets = await commitment(plan_app, "open-municipal-budget-data")
    assert f"#{budgets.id} " in listing.text

    added = await admin.send("/commitment add Atvērtas sēdes | Saeima | Komisiju sēdes tiešraidē")
    assert t("lv", "✅ Saved.") in added.text and "Atvērtas sēdes" in added.text
    new = await commitment(plan_app, (await _newest_key(plan_app)))
    assert (new.title_lv, new.institution_lv, new.status) == ("Atvērtas sēdes", "Saeima", "drafting")
    edited = await admin.send(f"/commitment edit {new.id} ru Открытые заседания | Сейм |")
    assert t("lv", "✅ Saved.") in edited.text
    assert (await commitment(plan_app, new.key)).title_ru == "Открытые заседания"

    changed = await admin.send(f"/commitment status {new.id} agreed Valdība apstiprināja")
    assert t("lv", "✅ Saved.") in changed.text and t("lv", "agreed") in changed.text
    again = await admin.send(f"/commitment status {new.id} agreed")
    assert t("lv", "ℹ️ Nothing changed: it is already so.") in again.text

    added_milestone = await admin.send(f"/milestone add {new.id} 2027-05-31 Tiešraides visām komisijām")
    assert "Tiešraides visām komisijām" in added_milestone.text
    first = (await milestones(plan_app, new.id))[0]
    done = await admin.send(f"/milestone {first.id} done Sāktas tiešraides")
    assert "✅" in done.text and "Sāktas tiešraides" in done.text
    undone = await admin.send(f"/milestone {first.id} undo")
    assert t("lv", "✅ Saved.") in undone.text and not (await milestones(plan_app, new.id))[0].done

    async with plan_app.sessions() as session:
        idea = (await session.exec(select(Idea).where(Idea.key == "council-meetings-live"))).one()
    linked = await admin.send(f"/link {idea.id} {new.id}")
    assert t("lv", "✅ Idea #{id} “{title}” is linked to commitment #{commitment}.", id=idea.id,
             title=idea.title_lv, commitment=new.id) in linked.text
    unlinked = await admin.send(f"/unlink {idea.id}")
    assert t("lv", "✅ Idea #{id} “{title}” is no longer linked to a commitment.", id=idea.id,
             title=idea.title_lv) in unlinked.text
    usage = await admin.send("/link 1")
    assert t("lv", "/link IDEA COMMITMENT – the idea fed this commitment; /unlink IDEA") in usage.text
    missing = await admin.send("/commitment status 999999 done")
    assert t("lv", "😕 Not found: check the number.") in missing.text

    async with plan_app.sessions() as session:
        actions = [entry.action for entry in (await session.exec(select(AuditEntry).order_by(AuditEntry.id))).all()]
        events = (await session.exec(select(PlanEvent).order_by(PlanEvent.id))).all()
    assert actions == ["commitment_add", "commitment_edit", "commitment_status", "milestone_add", "milestone_done",
                       "milestone_undo", "idea_link", "idea_unlink"]
    assert [(event.kind, event.status) for event in events] == [("status", "agreed"), ("milestone_done", None)]


async def _newest_key(app: App) -> str:
    async with app.sessions() as session:
        return (await session.exec(select(Commitment.key).order_by(Commitment.id.desc()))).first()


async def test_a_resident_can_change_nothing_of_the_plan(plan_app):
    anna = plan_app.resident("lv")
    await anna.send("/start")
    budgets = await commitment(plan_app, "open-municipal-budget-data")
    first = (await milestones(plan_app, budgets.id))[0]
    before = await plan_snapshot(plan_app)
    unknown = t("lv", "🤔 There is no such command. /help lists them all.")
    for command in ("/commitment", f"/commitment {budgets.id}", f"/commitment status {budgets.id} dropped",
                    "/commitment add Mana saistība | Es", f"/commitment edit {budgets.id} Cits nosaukums",
                    f"/milestone {first.id} undo", f"/milestone add {budgets.id} 2027-01-01 Jauns",
                    f"/link 1 {budgets.id}", "/unlink 1"):
        reply = await anna.send(command)
        assert reply.text == unknown, (command, reply.text)
    assert await plan_snapshot(plan_app) == before


# ------------------------------------------------------------------ the weekly news

async def test_a_follower_hears_of_a_completed_milestone_in_the_weekly_news_once(plan_app):
    anna = plan_app.resident("lv")
    await anna.send("/plan")
    await anna.press("Lobēšanas atklātības reģistrs")
    await anna.press(t("lv", "🔔 Follow"))
    lobbying = await commitment(plan_app, "lobbying-transparency-register")
    first = (await milestones(plan_app, lobbying.id))[0]
    admin = plan_app.resident("lv", user_id=ADMIN)
    await admin.send(f"/milestone {first.id} done Noteikumi pieņemti")

    monday = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # 10:00 in Riga: the weekly news goes out
    context = JobContext(sessions=plan_app.sessions, settings=plan_app.settings, i18n=create_i18n(),
                         clock=lambda: monday, bot_username="manabalss_test_bot")
    assert await jobs.personal_news(context) == 1
    assert await jobs.personal_news(context) == 0  # the week's news is written once
    await Sender(plan_app.bot, plan_app.sessions, rate_per_second=100.0, chat_interval=0.05).run_once()

    news = anna.last
    assert t("lv", "🔔 <b>Your news this week</b>").replace("<b>", "").replace("</b>", "") in news.text
    assert t("lv", "✅ milestone done: {milestone}", milestone=first.title_lv) in news.text
    assert "Noteikumi pieņemti" in news.text
    opened = await anna.press("Lobēšanas atklātības reģistrs", message=news)
    assert "Valsts kanceleja" in opened.text
