"""Moderators' screens (the moderation card, the queue, the audit log, prompts and answers) and the messages the
moderation sends through the outbox (status notifications to residents, posts to the moderators' chat).

Every idea text and every note is escaped here. `ScreensRenderer` renders the outbox's texts for the domain; the
dispatcher holds one in its workflow data ("moderation_renderer")."""

from __future__ import annotations

import json
from collections import Counter
from zoneinfo import ZoneInfo

from aiogram.types import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _

from bot.domain import lifecycle, staff
from bot.domain import moderation as mod
from bot.domain.campaigns import Stats
from bot.domain.lifecycle import Outcome
from bot.domain.limits import cut, utf16_length
from bot.domain.outgoing import Outgoing
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, fmt_datetime, fmt_number, rendering
from bot.ui import callbacks as cb
from bot.ui.callbacks import (
    MOD_CARD,
    MOD_DUPLICATE,
    MOD_EDIT,
    MOD_EDIT_LANGUAGE,
    MOD_PUBLISH,
    MOD_REASON,
    MOD_REJECT,
    MOD_TYPE_REASON,
    Mod,
    NotifyToggle,
)
from bot.ui.keyboard import Keyboard
from bot.ui.screens import Screen, language_in, supporters_text, title_of
from bot.ui.status_texts import STATUS_ICONS, note_text, status_name
from bot.ui.text import escape, shorten, visible_length
from storage.models import Idea, IdeaStatus

S = IdeaStatus
CARD_LIMIT = 3800  # the card's visible length; leaves room for an answer line above it (Telegram: 4096)


# ------------------------------------------------------------------ words

def reason_label(code: str) -> str:
    """A common reason of a rejection, as a button."""
    labels = {
        "dup": _("Duplicate"),
        "off": _("Off-topic"),
        "abuse": _("Offensive"),
        "unclear": _("Unclear"),
        "notog": _("Not about open government"),
    }
    return labels.get(code, code)


def report_reason(code: str) -> str:
    """A resident's report reason (bot.domain.reports.REASONS), escaped; an unknown code is shown as it is."""
    labels = {"offensive": _("offensive"), "spam": _("spam or advertising"), "duplicate": _("a duplicate")}
    return labels.get(code) or escape(code)


def _action_name(action: str) -> str:
    names = {
        "publish": _("published"),
        "republish": _("published again"),
        "unhide": _("shown again"),
        "reject": _("rejected"),
        "status": _("status changed"),
        "merge": _("merged as a duplicate"),
        "merge_in": _("took over a duplicate's supporters"),
        "translate": _("translation added"),
        "edit": _("text edited"),
        "ban": _("banned"),
        "unban": _("unbanned"),
        "moderator_add": _("made a moderator"),
        "moderator_remove": _("no longer a moderator"),
        "broadcast": _("sent an announcement"),
        "broadcast_pause": _("paused an announcement"),
        "broadcast_resume": _("resumed an announcement"),
        "broadcast_approve": _("approved an announcement"),
        "forget": _("erased at the resident's request"),
    }
    return names.get(action, action)


# ------------------------------------------------------------------ the moderation card

def _fit(texts: list[str], budget: int) -> list[str]:
    """Shorten the longest texts first so that together they take at most `budget` UTF-16 units (escaping comes
    later and does not count: Telegram counts "&lt;" as one character)."""
    budget = max(budget, 60 * len(texts))
    lengths = [utf16_length(text) for text in texts]
    allowed = {}
    remaining, left = budget, sorted(range(len(texts)), key=lambda index: lengths[index])
    for position, index in enumerate(left):
        share = remaining // (len(left) - position)
        allowed[index] = min(lengths[index], share)
        remaining -= allowed[index]
    return [cut(text, allowed[index]) for index, text in enumerate(texts)]


def card_text(card: mod.ModerationCard, language: str, notice: str | None = None) -> str:
    idea = card.idea
    head = [notice, ""] if notice else []
    hidden = " · " + _("🙈 hidden by reports") if idea.hidden and idea.status in (
        S.PUBLISHED, S.UNDER_REVIEW, S.INCLUDED, S.NOT_INCLUDED, S.IMPLEMENTED) else ""
    head.append(_("🛡 <b>Idea #{id}</b> · {icon} {status}").format(
        id=idea.id, icon=STATUS_ICONS.get(idea.status, ""), status=status_name(idea.status)) + hidden)
    if card.category is not None:
        head.append(f"🏷 {escape(title_of(card.category, language))}")
    if idea.author_id is not None and card.author_language is not None:
        head.append(_("👤 Author: <code>{author}</code>, reads {language}").format(
            author=idea.author_id, language=language_in(card.author_language)))
    elif idea.author_id is not None:
        head.append(_("👤 Author: <code>{author}</code>").format(author=idea.author_id))
    else:
        head.append(_("👤 From the campaign file"))
    head.append(_("🗓 Added: {date}").format(date=fmt_datetime(idea.created_at)))
    head.append(f"👍 {supporters_text(idea.supporters_count)}")
    if card.merged_into is not None:
        head.append(_("🔁 Counts for idea #{id}: {title}").format(
            id=card.merged_into.id, title=escape(shorten(title_of(card.merged_into, language), 80))))

    tail: list[str] = []
    if card.history:
        tail += ["", _("📜 <b>History</b>")]
        shown = card.history[-8:]
        if len(card.history) > len(shown):
            tail.append("…")
        for change in shown:
            line = f"• {fmt_datetime(change.created_at)}: {status_name(change.status)}"
            if change.note:
                line += f" — {note_text(shorten(change.note, 200))}"
            tail.append(line)
    if card.reports:
        tail += ["", _("🚩 <b>Reports</b>: {total}, open: {open}").format(
            total=fmt_number(len(card.reports)), open=fmt_number(len(card.open_reports)))]
        reasons = Counter(report.reason for report in card.reports)
        tail += [f"• {report_reason(reason)} × {fmt_number(count)}" for reason, count in reasons.most_common(10)]

    titles = [(code, getattr(idea, f"title_{code}"), getattr(idea, f"body_{code}")) for code in LANGUAGES]
    texts_present = [(code, title, body) for code, title, body in titles if title or body]
    missing = [code for code, title, body in titles if not (title or body)]
    fixed = head + tail + [f"<b>{code.upper()}</b> {escape(title or '')}" for code, title, _body in texts_present]
    if missing:
        fixed.append(_("Not translated yet: {languages}").format(languages=", ".join(c.upper() for c in missing)))
    budget = CARD_LIMIT - visible_length("\n".join(fixed)) - 8 * len(texts_present)
    bodies = _fit([body or "" for _code, _title, body in texts_present], budget)

    lines = list(head)
    for (code, title, _body), body in zip(texts_present, bodies, strict=True):
        lines += ["", f"<b>{code.upper()}</b> · <b>{escape(title or '—')}</b>", escape(body)]
    if missing:
        lines += ["", _("Not translated yet: {languages}").format(languages=", ".join(c.upper() for c in missing))]
    return "\n".join(lines + tail)


def open_in_bot_link(bot_username: str, idea_id: int) -> str:
    return f"https://t.me/{bot_username}?start=mod_{idea_id}"


def card_markup(card: mod.ModerationCard, bot_username: str) -> InlineKeyboardMarkup:
    idea = card.idea

    def button(text: str, act: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=text, callback_data=Mod(act=act, id=idea.id, v=idea.version).pack())

    decisions = []
    if lifecycle.can_transition(idea.status, S.PUBLISHED, republish=True) or (
            idea.hidden and idea.status not in (S.PENDING, S.REJECTED, S.MERGED)):
        decisions.append(button(_("✅ Publish"), MOD_PUBLISH))
    if lifecycle.can_transition(idea.status, S.REJECTED):
        decisions.append(button(_("❌ Reject"), MOD_REJECT))
    builder = Keyboard()
    if decisions:
        builder.row(*decisions)
    others = []
    if idea.status != S.MERGED:
        others.append(button(_("✏️ Edit text"), MOD_EDIT))
    if lifecycle.can_transition(idea.status, S.MERGED):
        others.append(button(_("🔁 Duplicate of…"), MOD_DUPLICATE))
    if others:
        builder.row(*others)
    builder.row(button(_("🔄 Refresh"), MOD_CARD),
                InlineKeyboardButton(text=_("↗️ Open in the bot"), url=open_in_bot_link(bot_username, idea.id)))
    return builder.as_markup()


def card_screen(card: mod.ModerationCard, language: str, bot_username: str, notice: str | None = None) -> Screen:
    return Screen(card_text(card, language, notice), card_markup(card, bot_username))


def _back_to_card(idea: Idea) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("⬅️ Back"), callback_data=Mod(act=MOD_CARD, id=idea.id, v=idea.version).pack())


def reject_reasons_screen(card: mod.ModerationCard, language: str) -> Screen:
    idea = card.idea
    text = "\n".join([
        _("❌ <b>Reject idea #{id}?</b>").format(id=idea.id),
        f"<i>{escape(shorten(title_of(idea, language), 200))}</i>",
        "",
        _("Choose the reason. The author will see it."),
    ])
    builder = Keyboard()
    for code in lifecycle.REJECT_REASONS:
        builder.row(InlineKeyboardButton(
            text=reason_label(code), callback_data=Mod(act=MOD_REASON, id=idea.id, v=idea.version, r=code).pack()))
    builder.row(InlineKeyboardButton(
        text=_("✍️ Type a reason"), callback_data=Mod(act=MOD_TYPE_REASON, id=idea.id, v=idea.version).pack()))
    builder.row(_back_to_card(idea))
    return Screen(text, builder.as_markup())


def edit_language_screen(card: mod.ModerationCard) -> Screen:
    idea = card.idea
    text = _("✏️ <b>Idea #{id}</b>: which language do you want to add or correct?").format(id=idea.id)
    builder = Keyboard()
    for code in LANGUAGES:
        mark = " ✓" if getattr(idea, f"title_{code}") else ""
        builder.button(text=LANGUAGE_NAMES[code] + mark,
                       callback_data=Mod(act=MOD_EDIT_LANGUAGE, id=idea.id, v=idea.version, r=code))
    builder.adjust(3)
    builder.row(_back_to_card(idea))
    return Screen(text, builder.as_markup())


# ------------------------------------------------------------------ prompts of the moderators' conversations

def _prompt(lines: list[str], mention: str | None, placeholder: str) -> Screen:
    """A question whose answer the moderator types. ForceReply makes their app reply to it, so that the bot
    sees the answer in a group too (with privacy mode a bot sees only commands and replies there)."""
    if mention:
        lines = [mention, *lines]
    return Screen("\n".join(lines), ForceReply(selective=True, input_field_placeholder=placeholder[:64]))


def moderator_mention(user_id: int, first_name: str) -> str:
    return f'<a href="tg://user?id={user_id}">{escape(first_name)}</a>'


def reason_prompt(idea_id: int, mention: str | None = None, author_language: str | None = None) -> Screen:
    """Asks for the note in the author's language: a typed reason reaches them as typed (the standard reasons,
    offered first, are translated)."""
    if author_language is None:
        ask = _("✍️ Type the reason for rejecting idea #{id}. Its author will see it.").format(id=idea_id)
    else:
        ask = _("✍️ Type the reason for rejecting idea #{id} {language}: its author reads that language.").format(
            id=idea_id, language=language_in(author_language))
    return _prompt([ask, _("/cancel to stop.")], mention, _("The reason"))


def duplicate_prompt(idea_id: int, mention: str | None = None) -> Screen:
    return _prompt([_("🔁 Idea #{id} repeats which idea? Send that idea's number, for example 7.").format(id=idea_id),
                    _("Its supporters will then count for that idea."), _("/cancel to stop.")], mention,
                   _("Number of the idea"))


def duplicate_number_needed() -> str:
    return _("Please send just the number of the other idea, for example 7. /cancel to stop.")


def title_prompt(idea: Idea, language: str, limits: tuple[int, int], mention: str | None = None) -> Screen:
    current = getattr(idea, f"title_{language}")
    lines = [_("✏️ Idea #{id}: send the title in {language} ({min}–{max} characters).").format(
        id=idea.id, language=LANGUAGE_NAMES[language], min=limits[0], max=limits[1])]
    if current:
        lines += [_("Now: <i>{text}</i>").format(text=escape(current)), _("Send a dot (.) to keep it.")]
    lines.append(_("/cancel to stop."))
    return _prompt(lines, mention, _("The title"))


def body_prompt(idea: Idea, language: str, limits: tuple[int, int], mention: str | None = None) -> Screen:
    current = getattr(idea, f"body_{language}")
    lines = [_("✏️ Now send the text in {language} ({min}–{max} characters).").format(
        language=LANGUAGE_NAMES[language], min=limits[0], max=limits[1])]
    if current:
        lines += [_("Now: <i>{text}</i>").format(text=escape(shorten(current, 600))), _("Send a dot (.) to keep it.")]
    lines.append(_("/cancel to stop."))
    return _prompt(lines, mention, _("The text"))


def text_problem(what: str, checked) -> str:
    """Why a title or text was refused (checked: bot.domain.texts.CheckedText)."""
    problem = str(checked.problem)
    if problem == "too_long":
        message = (_("The title is too long: {length} characters, at most {max}.") if what == "title" else
                   _("The text is too long: {length} characters, at most {max}."))
    elif problem in ("too_short", "empty"):
        message = (_("The title is too short: {length} characters, at least {min}.") if what == "title" else
                   _("The text is too short: {length} characters, at least {min}."))
    else:
        message = (_("The title needs some words.") if what == "title" else _("The text needs some words."))
    return message.format(length=checked.length, min=checked.minimum, max=checked.maximum) + " " + \
        _("Please send it again, or /cancel.")


def step_expired() -> str:
    return _("That step has expired, so nothing was done. Open the card again: /idea N.")


def flow_cancelled_text() -> str:
    return _("Stopped. Nothing was changed.")


# ------------------------------------------------------------------ answers to actions

def action_answer(result: mod.ActionResult, idea_id: int, into_id: int | None = None) -> str:
    """One line about what happened (or why nothing did), for above the card or as a button's alert."""
    outcome, card = result.outcome, result.card
    current = card.idea.status if card else None
    if outcome is Outcome.DONE:
        action = result.action
        if action == "publish":
            text = _("✅ Idea #{id} is published.")
        elif action == "republish":
            text = _("✅ Idea #{id} is published again.")
        elif action == "unhide":
            text = _("👁 Idea #{id} is visible again; its reports are resolved.")
        elif action == "reject":
            text = _("❌ Idea #{id} is rejected.")
        elif action == "merge":
            target = result.target
            return _("🔁 Idea #{id} now counts for idea #{into}, which has {supporters}.").format(
                id=idea_id, into=target.id, supporters=supporters_text(target.supporters_count)) + _notified(result)
        elif action in ("translate", "edit"):
            text = _("✏️ The text of idea #{id} is saved.")
        else:
            return _("📋 Idea #{id} is now: {status}.").format(
                id=idea_id, status=status_name(result.status)) + _notified(result)
        return text.format(id=idea_id) + _notified(result)
    if outcome is Outcome.NOT_FOUND:
        return _("😕 There is no idea #{id}.").format(id=idea_id)
    if outcome is Outcome.TARGET_NOT_FOUND:
        return _("😕 There is no idea #{id}.").format(id=into_id)
    if outcome is Outcome.SAME_IDEA:
        return _("An idea cannot be a duplicate of itself.")
    if outcome is Outcome.TARGET_NOT_PUBLIC:
        return _("🚫 Idea #{into} is not public, so it cannot take supporters. Choose a published idea.").format(
            into=into_id)
    if outcome is Outcome.ALREADY:
        if result.action == "merge" and card is not None and card.merged_into is not None:
            return _("ℹ️ Idea #{id} is already merged into idea #{into}: another moderator was quicker.").format(
                id=idea_id, into=card.merged_into.id)
        return _("ℹ️ Idea #{id} is already {status}: another moderator was quicker.").format(
            id=idea_id, status=status_name(current or result.status or ""))
    if outcome is Outcome.CHANGED:
        return _("⚠️ Another moderator changed idea #{id} meanwhile, so nothing was done. "
                 "Here it is as it is now.").format(id=idea_id)
    if outcome is Outcome.NOT_ALLOWED and result.action in ("edit", "translate"):
        return _("🚫 Idea #{id} is {current}: its texts can no longer be edited.").format(
            id=idea_id, current=status_name(current or ""))
    if outcome is Outcome.NOT_ALLOWED:
        wanted = status_name(result.status) if result.status else ""
        return _("🚫 Idea #{id} is {current}: it cannot become “{wanted}”.").format(
            id=idea_id, current=status_name(current or ""), wanted=wanted)
    if outcome is Outcome.BAD_TEXT:
        return text_problem(result.problem, result.problem_detail)
    if outcome is Outcome.NO_COMMITMENT:
        return _("📈 An idea included in the action plan names its commitment: first /link {id} COMMITMENT "
                 "(/commitment lists them).").format(id=idea_id)
    return _("🚫 Only moderators can do this.")


def _notified(result: mod.ActionResult) -> str:
    if not result.notified:
        return ""
    return " " + ngettext("{count} resident will be told.", "{count} residents will be told.",
                          result.notified).format(count=fmt_number(result.notified))


def user_action_answer(result: staff.UserActionResult, command: str) -> str:
    """Answers to /ban, /unban and /moderators add|remove."""
    user_id = result.user_id
    outcome = result.outcome
    if outcome is Outcome.PROTECTED:
        return _("🚫 {user} is an admin (ADMIN_IDS): admins cannot be banned or removed here.").format(user=user_id)
    if outcome is Outcome.SELF:
        return _("🚫 You cannot do this to yourself.")
    if outcome is Outcome.ADMINS_ONLY:
        return _("🚫 Only an admin can do this.")
    if outcome is Outcome.NO_RIGHTS:
        return _("🚫 Only moderators can do this.")
    done = outcome is Outcome.DONE
    texts = {
        "ban": (_("🚫 Resident {user} is banned: they can no longer propose, support or report ideas."),
                _("Resident {user} is already banned.")),
        "unban": (_("✅ Resident {user} is no longer banned."), _("Resident {user} is not banned.")),
        "add": (_("🛡 Resident {user} is now a moderator."), _("Resident {user} is already a moderator.")),
        "remove": (_("Resident {user} is no longer a moderator."), _("Resident {user} is not a moderator.")),
    }
    answer = texts[command][0 if done else 1].format(user=user_id)
    if result.voided:
        answer += "\n" + ngettext("🗑 {count} support of theirs was voided and the ideas recounted.",
                                  "🗑 {count} supports of theirs were voided and the ideas recounted.",
                                  result.voided).format(count=fmt_number(result.voided))
    return answer


def usage(command: str) -> str:
    texts = {
        "idea": _("Usage: /idea N, for example /idea 12"),
        "publish": _("Usage: /publish N, for example /publish 12"),
        "reject": _("Usage: /reject N reason, for example /reject 12 This is about the Saeima, not the government"),
        "merge": _("Usage: /merge N into M (idea N repeats idea M), for example /merge 12 into 7"),
        "translate": _("Usage: /translate N, for example /translate 12"),
        "status": _("Usage: /status N STATUS note. STATUS is one of: {codes}. "
                    "For example: /status 12 under_review The working group discusses it on 5 May"),
        "ban": _("Usage: /ban USER_ID, for example /ban 123456789; /ban USER_ID void also voids their supports"),
        "unban": _("Usage: /unban USER_ID, for example /unban 123456789"),
        "moderators": _("Usage: /moderators add USER_ID, /moderators remove USER_ID, or /moderators to list them"),
        "audit": _("Usage: /audit N for idea N, or /audit user USER_ID for a resident"),
    }
    return "🛈 " + texts[command].format(codes=", ".join(lifecycle.STATUS_COMMAND_CODES))


def moderator_help() -> str:
    return "\n".join([
        _("🛡 <b>Moderator commands</b>"),
        _("/pending – proposals waiting for a decision, and ideas hidden by reports"),
        _("/idea N – the moderation card of idea N"),
        _("/publish N – publish idea N (also shows a hidden idea again)"),
        _("/reject N reason – reject idea N; its author sees the reason"),
        _("/merge N into M – idea N repeats idea M; its supporters count for M"),
        _("/translate N – add or correct a language of idea N"),
        _("/status N STATUS note – e.g. under_review, included, not_included, implemented"),
        _("/ban USER_ID, /unban USER_ID – stop or allow a resident's proposals, supports and reports"),
        _("/ban USER_ID void – ban and void the resident's supports (the ideas are recounted)"),
        _("/moderators add|remove USER_ID – admins only"),
        _("/stats – numbers of the bot"),
        _("/audit N – who did what with idea N"),
        _("/integrity – the campaign's integrity report (unusual voting patterns)"),
    ])


# ------------------------------------------------------------------ lists

def _idea_button(idea: Idea, language: str) -> InlineKeyboardButton:
    label = f"#{idea.id} · {shorten(title_of(idea, language), 40)}"
    return InlineKeyboardButton(text=label, callback_data=Mod(act=MOD_CARD, id=idea.id, v=idea.version).pack())


def queue_screen(queue: staff.Queue, language: str) -> Screen:
    lines = [_("🗂 <b>Waiting for moderators</b>")]
    builder = Keyboard()
    if not queue.pending_total and not queue.hidden_total and not queue.reported_total:
        lines += ["", _("✨ Nothing is waiting. Well done!")]
        return Screen("\n".join(lines))
    lines += ["", ngettext("⏳ {count} proposal waits for a decision (oldest first):",
                           "⏳ {count} proposals wait for a decision (oldest first):",
                           queue.pending_total).format(count=fmt_number(queue.pending_total))]
    for idea in queue.pending:
        lines.append(f"#{idea.id} · {escape(shorten(title_of(idea, language), 70))} · {fmt_datetime(idea.created_at)}")
        builder.row(_idea_button(idea, language))
    if queue.pending_total > len(queue.pending):
        lines.append("…")
    sections = (
        (queue.hidden, queue.hidden_total, ngettext("🙈 {count} idea is hidden by reports:",
                                                    "🙈 {count} ideas are hidden by reports:", queue.hidden_total)),
        (queue.reported, queue.reported_total, ngettext(
            "🚩 {count} public idea has open reports (most reported first):",
            "🚩 {count} public ideas have open reports (most reported first):", queue.reported_total)),
    )
    for ideas, total, header in sections:
        if not total:
            continue
        lines += ["", header.format(count=fmt_number(total))]
        for idea in ideas:
            lines.append(f"#{idea.id} · {escape(shorten(title_of(idea, language), 70))}")
            builder.row(_idea_button(idea, language))
        if total > len(ideas):
            lines.append("…")
    return Screen("\n".join(lines), builder.as_markup())


def _short_value(value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return escape(shorten(str(value), 60))


def audit_screen(log: staff.AuditLog) -> Screen:
    if log.subject == "user":
        head = _("📜 <b>Audit log of resident {id}</b>").format(id=log.subject_id)
    else:
        head = _("📜 <b>Audit log of idea #{id}</b>").format(id=log.subject_id)
    if not log.entries:
        return Screen("\n".join([head, "", _("No moderator has acted on it yet.")]))
    blocks = []
    for entry in log.entries:
        target = f" → {entry.target_user_id}" if entry.target_user_id and log.subject != "user" else ""
        lines = [_("• {when} · moderator <code>{who}</code>{target}: <b>{what}</b>").format(
            when=fmt_datetime(entry.created_at), who=entry.moderator_id, target=target,
            what=_action_name(entry.action))]
        before = json.loads(entry.before) if entry.before else {}
        after = json.loads(entry.after) if entry.after else {}
        for key in sorted(set(before) | set(after)):
            lines.append(f"   {escape(key)}: {_short_value(before.get(key))} → {_short_value(after.get(key))}")
        blocks.append("\n".join(lines))
    # The newest entries matter most: drop the oldest while the text is too long.
    while len(blocks) > 1 and visible_length("\n".join([head, *blocks])) > CARD_LIMIT:
        blocks.pop(0)
    shown = [head]
    if log.total > len(blocks):
        shown.append(_("(the latest {count} of {total})").format(count=len(blocks), total=log.total))
    return Screen("\n".join([*shown, "", *blocks]))


def stats_screen(stats: Stats) -> Screen:
    data = stats.as_dict()
    languages = ", ".join(f"{lang} {fmt_number(count)}" for lang, count in sorted(data["users_by_language"].items()))
    statuses = ", ".join(f"{status} {fmt_number(count)}"
                         for status, count in sorted(data["ideas_by_status"].items()))
    lines = [
        _("📊 <b>Statistics</b>"),
        _("Residents: {count}").format(count=fmt_number(data["users"])) + (f" ({languages})" if languages else ""),
        _("Campaigns: {count}").format(count=fmt_number(data["campaigns"])),
        _("Ideas: {count}").format(count=fmt_number(data["ideas"])) + (f" ({statuses})" if statuses else ""),
        _("Votes: {votes} from {voters} residents").format(votes=fmt_number(data["votes"]),
                                                            voters=fmt_number(data["voters"])),
        _("Subscribers: {count}").format(count=fmt_number(data["subscribers"])),
    ]
    return Screen("\n".join(lines))


def moderators_screen(found: staff.ModeratorList) -> Screen:
    lines = [_("🛡 <b>Moderators</b>")]
    lines.append(_("Admins (ADMIN_IDS): {ids}").format(
        ids=", ".join(f"<code>{admin_id}</code>" for admin_id in found.admin_ids) or "—"))
    moderators = [f"<code>{user.id}</code>" + (" " + _("(banned)") if user.is_banned else "")
                  for user in found.moderators]
    lines.append(_("Moderators: {ids}").format(ids=", ".join(moderators) or "—"))
    lines += ["", usage("moderators")]
    return Screen("\n".join(lines))


# ------------------------------------------------------------------ residents: notifications

def _open_idea_button(idea_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("💡 Open the idea"),
                                callback_data=cb.IdeaAction(act=cb.ACT_OPEN, id=idea_id).pack())


def _stop_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("🔕 Turn off news about my ideas"),
                                callback_data=NotifyToggle(on=0, src="n").pack())


def status_notice(idea: Idea, language: str, is_author: bool) -> Screen:
    head = _("🔔 <b>News about your idea</b>") if is_author else _("🔔 <b>News about an idea you support</b>")
    lines = [head, "", f"💡 <b>{escape(title_of(idea, language))}</b>",
             _("Status: {icon} {status}").format(icon=STATUS_ICONS.get(idea.status, ""),
                                                 status=status_name(idea.status))]
    if idea.status_note:
        lines.append(_("📝 Note: {note}").format(note=note_text(idea.status_note)))
    if idea.status == S.REJECTED and is_author:
        lines += ["", _("Thank you for taking part. You are welcome to propose another idea.")]
    rows = []
    if idea.status in (S.PUBLISHED, S.UNDER_REVIEW, S.INCLUDED, S.NOT_INCLUDED, S.IMPLEMENTED) and not idea.hidden:
        rows.append([_open_idea_button(idea.id)])
    rows.append([_stop_button()])
    return Screen("\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows))


def merge_notice(idea: Idea, target: Idea, language: str, is_author: bool) -> Screen:
    title, target_title = escape(title_of(idea, language)), escape(title_of(target, language))
    if is_author:
        text = _("🔁 Your idea “{title}” repeats an idea proposed earlier, “{target}”, so the two are joined. "
                 "Its supporters now count for “{target}”.")
    else:
        text = _("🔁 The idea you supported, “{title}”, repeats an idea proposed earlier, “{target}”, so the two "
                 "are joined. Your support now counts for “{target}”.")
    markup = InlineKeyboardMarkup(inline_keyboard=[[_open_idea_button(target.id)], [_stop_button()]])
    return Screen(text.format(title=title, target=target_title), markup)


# ------------------------------------------------------------------ the moderators' chat

def moderation_post(card: mod.ModerationCard, language: str, bot_username: str, event: str) -> Screen:
    notice = {"proposal": _("🆕 <b>New proposal</b>"),
              "hidden": _("🚩 <b>Hidden by residents' reports</b>: please check it.")}.get(event)
    return card_screen(card, language, bot_username, notice)


def _dump(markup: InlineKeyboardMarkup | None) -> dict | None:
    return markup.model_dump(exclude_none=True) if markup is not None else None


class ScreensRenderer:
    """bot.domain.moderation.Renderer: each text rendered in the given language, in an i18n context of its own
    (the outbox's texts are made outside the reader's update, e.g. one per supporter)."""

    def __init__(self, i18n: I18n, tz: ZoneInfo | None = None) -> None:
        self.i18n = i18n
        self.tz = tz  # the TIMEZONE setting

    def status_notice(self, idea: Idea, language: str, is_author: bool) -> Outgoing:
        with rendering(self.i18n, language, self.tz):
            screen = status_notice(idea, language, is_author)
        return Outgoing(screen.text, _dump(screen.markup))

    def merge_notice(self, idea: Idea, target: Idea, language: str, is_author: bool) -> Outgoing:
        with rendering(self.i18n, language, self.tz):
            screen = merge_notice(idea, target, language, is_author)
        return Outgoing(screen.text, _dump(screen.markup))

    def moderation_post(self, card: mod.ModerationCard, language: str, bot_username: str,
                        event: str) -> Outgoing:
        with rendering(self.i18n, language, self.tz):
            screen = moderation_post(card, language, bot_username, event)
        return Outgoing(screen.text, _dump(screen.markup))

