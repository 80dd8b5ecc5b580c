"""An idea's status and a moderator's note in words, shared by residents' and moderators' screens."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.domain.lifecycle import reason_code
from bot.ui.text import escape
from storage.models import IdeaStatus

S = IdeaStatus


def status_name(status: str) -> str:
    names = {
        S.PENDING: _("pending review"),
        S.PUBLISHED: _("published"),
        S.REJECTED: _("rejected"),
        S.UNDER_REVIEW: _("under review by the working group"),
        S.INCLUDED: _("included in the action plan"),
        S.NOT_INCLUDED: _("not included in the action plan"),
        S.IMPLEMENTED: _("implemented"),
        S.MERGED: _("merged with a similar idea"),
    }
    return names.get(status, status)


STATUS_ICONS = {S.PENDING: "⏳", S.PUBLISHED: "✅", S.REJECTED: "❌", S.UNDER_REVIEW: "📋", S.INCLUDED: "📌",
                S.NOT_INCLUDED: "📋", S.IMPLEMENTED: "🏁", S.MERGED: "🔁"}


def reason_sentence(code: str) -> str:
    sentences = {
        "dup": _("It repeats an idea that has already been proposed."),
        "off": _("It is not about the topic of this campaign."),
        "abuse": _("It breaks the rules of respectful discussion."),
        "unclear": _("It is not clear what it proposes."),
        "notog": _("It is not about open government."),
    }
    return sentences.get(code, code)


def note_text(note: str | None) -> str:
    """A status note as residents read it, escaped: a common reason in the reader's language, or the moderator's
    typed words. Use it wherever a StatusChange.note or Idea.status_note is shown."""
    if not note:
        return ""
    code = reason_code(note)
    return escape(reason_sentence(code) if code else note)
