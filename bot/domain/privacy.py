"""Residents' data rights (GDPR): what we keep about a resident as one document (/mydata), erasing a resident
(/forget), and the retention of data kept only for a while. No Telegram here.

Erasure: the resident row, drafts (conversations), category subscriptions, outbox rows (nothing is sent to
them again) and report authorship go. Supports are withdrawn while their campaign runs; after it closed they
stay only as the ideas' anonymous counts. Published ideas stay as the campaign's record without their author;
proposals nobody saw published are deleted. Audit entries keep what moderators did, with the resident as a
pseudonym. Afterwards no table holds the resident's Telegram id (tests/test_privacy.py checks every column)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import privacy as store
from storage.models import LANGUAGES
from storage.moderation import add_audit
from storage.schedule import claim_run

EXPORT_FORMAT = "manabalss-my-data/1"


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _texts(idea: Any, kind: str) -> dict[str, str]:
    return {language: text for language in LANGUAGES if (text := getattr(idea, f"{kind}_{language}"))}


async def export(session: AsyncSession, user_id: int, now: datetime) -> dict[str, Any] | None:
    """Everything stored about the resident, as a JSON-ready document (None when we know nothing of them)."""
    user = await store.resident(session, user_id)
    if user is None:
        return None
    drafts = [{"step": row.state, "data": json.loads(row.data or "{}"), "updated_at": _when(row.updated_at)}
              for row in await store.conversations(session, user_id)]
    return {
        "format": EXPORT_FORMAT,
        "exported_at": _when(now),
        "telegram_user_id": user.id,
        "resident": {
            "language": user.language, "language_chosen": user.language_chosen, "first_seen": _when(user.created_at),
            "moderator": user.is_moderator, "banned": user.is_banned, "reachable": user.is_reachable,
        },
        "settings": {
            "weekly_digest": user.subscribed, "reminders": user.reminders, "status_notifications": user.notify_status,
            "new_idea_categories": await store.category_interests(session, user_id),
        },
        "supports": [{"idea": idea.id, "title": _texts(idea, "title"), "since": _when(vote.created_at)}
                     for vote, idea in await store.supports(session, user_id)],
        "proposals": [{"idea": idea.id, "status": idea.status, "hidden": idea.hidden, "title": _texts(idea, "title"),
                       "text": _texts(idea, "body"), "sent_at": _when(idea.created_at),
                       "moderators_note": idea.status_note,
                       "history": [{"status": change.status, "note": change.note, "at": _when(change.created_at)}
                                   for change in history]}
                      for idea, history in await store.proposals(session, user_id)],
        "reports": [{"idea": report.idea_id, "reason": report.reason, "resolved": report.resolved,
                     "at": _when(report.created_at)} for report in await store.reports(session, user_id)],
        "in_flight": {
            "conversations": drafts,
            "messages_waiting": [{"kind": row.kind, "status": row.status, "created_at": _when(row.created_at)}
                                 for row in await store.waiting_messages(session, user_id)],
        },
        "moderators_actions_about_you": [{"action": entry.action, "at": _when(entry.created_at)}
                                         for entry in await store.audit_about(session, user_id)],
    }


def export_json(document: dict[str, Any]) -> bytes:
    """Indented UTF-8 JSON, readable by a person as well as a program."""
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


@dataclass(frozen=True)
class Erasure:
    pseudonym: str
    supports_withdrawn: int
    supports_kept_as_counts: int
    ideas_kept: int
    proposals_deleted: int
    messages_deleted: int


async def forget(session: AsyncSession, user_id: int, now: datetime) -> Erasure:
    """Erase the resident in one transaction (see the module docstring); audited under a pseudonym."""
    pseudonym = "forgotten-" + secrets.token_hex(4)
    withdrawn, kept_as_counts = await store.withdraw_supports(session, user_id, now)
    kept, deleted = await store.detach_or_delete_proposals(session, user_id)
    messages = await store.delete_messages_and_conversations(session, user_id)
    await store.pseudonymise_audit(session, user_id, pseudonym)
    await store.delete_resident(session, user_id)
    await add_audit(session, moderator_id=store.FORGOTTEN_MODERATOR, action="forget", now=now,
                    after={"resident": pseudonym, "supports_withdrawn": len(withdrawn),
                           "supports_kept_as_counts": kept_as_counts, "ideas_kept_without_author": kept,
                           "proposals_deleted": len(deleted)})
    await session.commit()
    return Erasure(pseudonym, len(withdrawn), kept_as_counts, len(kept), len(deleted), messages)


RETENTION_JOB = "retention"


async def prune(session: AsyncSession, now: datetime, retention_days: int) -> dict[str, int] | None:
    """The daily retention run: finished outbox rows, job runs and idle conversations older than
    `retention_days` go. Once a day whoever triggers it (None when today's run happened already)."""
    if not await claim_run(session, RETENTION_JOB, now.date().isoformat(), now=now):
        await session.rollback()
        return None
    counts = await store.prune(session, now - timedelta(days=retention_days))
    await session.commit()
    return counts
