"""Working groups, end to end: a resident and an NGO representative sign up, a moderator approves, exports the
list and reads the contacts; members get the meeting reminder once; leaving and finishing delete contacts;
residents can change nothing of the groups."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot import jobs
from bot.delivery import Sender
from bot.domain import groups
from bot.i18n import create_i18n
from bot.job_context import JobContext
from bot.ui import callbacks as cb
from storage.models import AuditEntry, GroupMember, OutboxMessage, WorkingGroup
from tests.conftest import App, starts_processes
from tests.i18n_helpers import t
from tests.staff_app import app_with_admin

ADMIN = 7201
WHY = "Strādāju pašvaldībā un gribu palīdzēt iedzīvotājiem iesaistīties agrāk."
WHY_RU = "Руковожу обществом жителей и хочу, чтобы нас слышали раньше."


@pytest.fixture
async def group_app(fake_telegram, sqlite_sessions, clock):
    async for application in app_with_admin(fake_telegram, sqlite_sessions, clock, ADMIN):
        yield application


async def drafting_group(app: App) -> WorkingGroup:
    async with app.sessions() as session:
        return (await session.exec(select(WorkingGroup).where(WorkingGroup.key == "early-participation-group"))).one()


async def sign_ups(app: App) -> list[GroupMember]:
    async with app.sessions() as session:
        return list((await session.exec(select(GroupMember).order_by(GroupMember.id))).all())


async def open_group_from_the_plan(person, language: str) -> None:
    await person.send("/plan")
    title = {"lv": "Agrīna sabiedrības līdzdalība", "ru": "Раннее участие общества"}[language]
    card = await person.press(title)
    group_title = {"lv": "Darba grupa: agrīna", "ru": "Рабочая группа: раннее"}[language]
    assert t(language, "👥 A working group drafts this commitment: you can join it.") in card.text
    opened = await person.press(group_title)
    assert "Brīvības bulvāris 36" in opened.text


async def resident_joins_with_username(app: App):
    anna = app.resident("lv", username="anna_riga")
    await anna.send("/start")
    await open_group_from_the_plan(anna, "lv")
    asked = await anna.press(t("lv", "✋ Join as a resident"))
    assert t("lv", "✍️ In a few words: why do you want to take part, and what would you bring to the group? "
                   "({min}–{max} characters)", min=10, max=500) in asked.text
    too_short = await anna.send("Jā")
    assert too_short.text == t("lv", "Please write from {min} to {max} characters.", min=10, max=500)
    consent = await anna.send(WHY)
    # The purpose is stated before the consent is asked for.
    assert consent.text.index(t("lv", "🔐 <b>Your contact</b>").replace("<b>", "").replace("</b>", "")) < \
        consent.text.index(t("lv", "Which contact do you agree to share?"))
    saved = await anna.press(t("lv", "👤 My username @{username}", username="anna_riga"))
    assert t("lv", "✅ Thank you! Your sign-up is waiting for a moderator; we will tell you their decision.") in \
        saved.texts
    return anna


async def ngo_joins_with_phone(app: App):
    olga = app.resident("ru")  # no Telegram username: she shares her phone number
    await olga.send("/start")
    await open_group_from_the_plan(olga, "ru")
    await olga.press(t("ru", "🏢 Join for an NGO"))
    await olga.send("Biedrība „Rīgas apkaimju alianse”")
    await olga.send("председатель правления")
    consent = await olga.send(WHY_RU)
    assert not any("@" in text for text in consent.buttons)  # no username offered when there is none
    asked = await olga.press(t("ru", "📱 My phone number"))
    assert olga.last.reply_keyboard["keyboard"][0][0]["request_contact"] is True
    assert asked.answered
    typed = await olga.send("+371 2000 0000")
    assert typed.text == t("ru", "Please use the button below: we take the number only through Telegram's "
                                 "button, so that it is really yours.")
    someone_else = await olga.share_contact("+37129999999", contact_user_id=424242)
    assert someone_else.text == t("ru", "This is someone else's contact. Please share your own with the button below.")
    saved = await olga.share_contact("+37120000000")
    assert t("ru", "✅ Thank you! Your sign-up is waiting for a moderator; we will tell you their decision.") in \
        saved.texts
    assert saved.sent[0].reply_keyboard == {"remove_keyboard": True}
    return olga


async def test_a_resident_and_an_ngo_join_a_moderator_approves_exports_and_they_leave(group_app, tmp_path):
    anna = await resident_joins_with_username(group_app)
    olga = await ngo_joins_with_phone(group_app)
    group = await drafting_group(group_app)
    first, second = await sign_ups(group_app)
    assert (first.user_id, first.contact_username, first.contact_phone, first.organisation) == (
        anna.user_id, "anna_riga", None, None)
    assert (second.organisation, second.role, second.contact_phone, second.status) == (
        "Biedrība „Rīgas apkaimju alianse”", "председатель правления", "+37120000000", "pending")

    admin = group_app.resident("lv", user_id=ADMIN)
    await admin.send("/start")
    listing = await admin.send("/groups")
    assert f"#{group.id} ·" in listing.text and "⏳ 2" in listing.text
    review = await admin.send(f"/group {group.id}")
    assert "@anna_riga" in review.text and "+37120000000" in review.text and WHY in review.text
    approved = await admin.press(t("lv", "✅ Approve #{id}", id=first.id))
    assert approved.alerts and approved.alerts[0].text == t("lv", "✅ Saved.")
    again = await admin.send(f"/signup {first.id} approve")
    assert t("lv", "ℹ️ Nothing changed: it is already so.") in again.text
    await admin.send(f"/signup {second.id} approve Gaidām jūs 8. decembrī")

    async with group_app.sessions() as session:
        notices = (await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "group")
                                      .order_by(OutboxMessage.id))).all()
    assert [notice.chat_id for notice in notices] == [anna.user_id, olga.user_id]
    assert "Darba grupa: agrīna sabiedrības līdzdalība" in notices[0].text  # Anna reads Latvian
    assert "Рабочая группа: раннее участие общества" in notices[1].text and "Gaidām jūs" in notices[1].text

    # The moderator messages the group's members through the broadcast flow.
    prompt = await admin.send(f"/broadcast group {group.id}")
    assert t("lv", "members of working group #{id}", id=group.id) in prompt.text
    await admin.send("Tikšanās sāksies 15:00, ieeja no Brīvības bulvāra.")
    await admin.press(t("lv", "✅ Confirm and send"))
    async with group_app.sessions() as session:
        sent = (await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "broadcast"))).all()
    assert sorted(message.chat_id for message in sent) == sorted([anna.user_id, olga.user_id])
    nobody = await admin.send("/broadcast group 999")
    assert t("lv", "🚫 There is no working group #{id}.", id=999) in nobody.text

    exported = await admin.send(f"/group {group.id} csv")
    document = exported.sent[0]
    rows = list(csv.DictReader(io.StringIO(document.upload.data.decode("utf-8-sig"))))
    assert [(row["as"], row["telegram_username"], row["phone"], row["organisation"]) for row in rows] == [
        ("person", "@anna_riga", "", ""), ("ngo", "", "+37120000000", "Biedrība „Rīgas apkaimju alianse”")]

    # Leaving is one tap, and the sign-up with its contact is gone.
    await anna.send("/plan")
    await anna.press("Agrīna sabiedrības līdzdalība")
    await anna.press("Darba grupa: agrīna")
    left = await anna.press(t("lv", "🚪 Leave the group"))
    assert left.alerts[0].text == t("lv", "You left the group; we deleted your contact.")
    assert [member.user_id for member in await sign_ups(group_app)] == [olga.user_id]

    # Finishing the group deletes the remaining contacts.
    finished = await admin.send(f"/group {group.id} status finished")
    assert t("lv", "✅ Saved.") in finished.text
    (remaining,) = await sign_ups(group_app)
    assert (remaining.contact_phone, remaining.contact_username) == (None, None)
    async with group_app.sessions() as session:
        actions = [entry.action for entry in (await session.exec(select(AuditEntry).order_by(AuditEntry.id))).all()]
    assert actions == ["group_approve", "group_approve", "broadcast", "group_status"]


async def test_members_get_the_meeting_reminder_once_in_their_language(group_app):
    anna = await resident_joins_with_username(group_app)
    olga = await ngo_joins_with_phone(group_app)
    async with group_app.sessions() as session:
        for member in (await session.exec(select(GroupMember))).all():
            member.status = "approved"
        await session.commit()
    # The first meeting is on 8 December 2026 at 15:00 Riga time; the day before, the 10:00 job reminds.
    def context(now: datetime) -> JobContext:
        return JobContext(sessions=group_app.sessions, settings=group_app.settings, i18n=create_i18n(),
                          clock=lambda: now, bot_username="manabalss_test_bot")

    assert await jobs.meeting_reminders(context(datetime(2026, 12, 6, 8, 0, tzinfo=UTC))) == 0
    day_before = context(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
    assert await jobs.meeting_reminders(day_before) == 2
    assert await jobs.meeting_reminders(day_before) == 0  # a second run (or a restart) reminds nobody again
    await Sender(group_app.bot, group_app.sessions, rate_per_second=100.0, chat_interval=0.05).run_once()
    heading = {"lv": "Darba grupa: agrīna", "ru": "Рабочая группа: раннее"}
    for person, language in ((anna, "lv"), (olga, "ru")):
        reminders = [m for m in person.messages if m.text and m.text.startswith("⏰")]
        assert len(reminders) == 1 and heading[language] in reminders[0].text
    assert "Brīvības bulvāris 36" in reminders[0].text


async def test_a_full_group_refuses_a_sign_up_and_a_moderator_cannot_overfill_it(group_app):
    group = await drafting_group(group_app)
    async with group_app.sessions() as session:
        stored = await session.get(WorkingGroup, group.id)
        stored.capacity = 1
        await session.commit()
    await resident_joins_with_username(group_app)
    olga = await ngo_joins_with_phone(group_app)
    first, second = await sign_ups(group_app)
    admin = group_app.resident("lv", user_id=ADMIN)
    await admin.send(f"/signup {first.id} approve")
    full = await admin.send(f"/signup {second.id} approve")
    assert t("lv", "The group is full: decline someone or raise its capacity first.") in full.text
    late = group_app.resident("lv")
    await late.send("/start")
    reply = await late.press_data(cb.Group(act=cb.GROUP_JOIN, id=group.id, arg=cb.JOIN_PERSON).pack(),
                                  olga.last.message_id)
    assert reply.alerts[0].text == t("lv", "Sorry, the group is full for now.")


async def test_a_resident_can_change_nothing_of_the_groups(group_app):
    await resident_joins_with_username(group_app)
    group = await drafting_group(group_app)
    (member,) = await sign_ups(group_app)
    mallory = group_app.resident("lv")
    await mallory.send("/start")
    unknown = t("lv", "🤔 There is no such command. /help lists them all.")
    for command in ("/groups", f"/group {group.id}", f"/group {group.id} csv", f"/group {group.id} status finished",
                    f"/group {group.id} meeting 2027-01-01T10:00 Rīga", "/group add 1 5 Mana grupa",
                    f"/signup {member.id} approve", f"/signup {member.id} decline nē"):
        reply = await mallory.send(command)
        assert reply.text == unknown, (command, reply.text)
        assert not [message for message in reply.sent if message.upload]
    for act in (cb.GROUP_APPROVE, cb.GROUP_DECLINE):
        reply = await mallory.press_data(cb.Group(act=act, id=member.id).pack(), mallory.last.message_id)
        assert reply.answered
    (unchanged,) = await sign_ups(group_app)
    assert unchanged.status == "pending" and unchanged.contact_username == "anna_riga"
    async with group_app.sessions() as session:
        assert (await session.exec(select(AuditEntry))).all() == []
        assert (await session.get(WorkingGroup, group.id)).status == "forming"


@starts_processes  # runs the command as processes
async def test_export_group_on_the_command_line(tmp_path):
    env_url = f"sqlite:///{tmp_path / 'manabalss.db'}"
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=60,
        env={"DATABASE_URL": env_url, "PATH": "/usr/bin:/bin"})
    assert run("import", "bot/data/atverta-latvija.yaml").returncode == 0
    result = run("export-group", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].lstrip("\ufeff") == ",".join(groups.CSV_COLUMNS)
    missing = run("export-group", "99")
    assert missing.returncode == 1 and "no working group 99" in missing.stderr


def test_the_csv_lists_contacts_only_of_the_given_members():
    member = GroupMember(group_id=1, user_id=5, why="Gribu palīdzēt, jo tas ir svarīgi", contact_username="x_user1",
                         created_at=datetime(2026, 11, 27, 22, 30, tzinfo=UTC))
    text = groups.members_csv([member], groups.ZoneInfo("Europe/Riga"))
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["joined"] == "2026-11-28" and row["telegram_username"] == "@x_user1" and "5" not in row.values()
