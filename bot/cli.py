"""Operator commands: import a campaign, print statistics, migrate."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Settings
from bot.domain.campaign_file import CampaignFileError, load_campaign_file
from bot.domain.campaigns import collect_stats, import_campaign
from storage.db import close_database, open_database


async def import_file(settings: Settings, path: Path) -> None:
    try:
        spec = load_campaign_file(path)
    except CampaignFileError as error:
        raise SystemExit(f"error: {path} was not imported, nothing changed:\n{error}") from None
    except OSError as error:
        raise SystemExit(f"error: cannot read {path}: {error.strerror}") from None
    engine, sessions = await open_database(settings.database_url, settings.pool, settings.caches)
    try:
        async with sessions() as session:
            report = await import_campaign(session, spec)
    finally:
        await close_database(engine)
    print(report.summary())


async def print_stats(settings: Settings, *, as_json: bool) -> None:
    engine, sessions = await open_database(settings.database_url, settings.pool, settings.caches)
    try:
        async with sessions() as session:
            stats = (await collect_stats(session)).as_dict()
    finally:
        await close_database(engine)
    if as_json:
        print(json.dumps(stats, ensure_ascii=False, sort_keys=True))
        return
    languages = ", ".join(f"{lang} {count}" for lang, count in sorted(stats["users_by_language"].items()))
    statuses = ", ".join(f"{status} {count}" for status, count in sorted(stats["ideas_by_status"].items()))
    print(f"residents:   {stats['users']}" + (f" ({languages})" if languages else ""))
    print(f"campaigns:   {stats['campaigns']}")
    print(f"ideas:       {stats['ideas']}" + (f" ({statuses})" if statuses else ""))
    print(f"votes:       {stats['votes']} from {stats['voters']} residents")
    print(f"subscribers: {stats['subscribers']}")


async def print_integrity(settings: Settings, *, slug: str | None, as_json: bool) -> None:
    """The integrity report of a campaign (the current one by default), as text in English or as JSON."""
    from bot.domain.integrity import build_report, campaign_for_report

    now = datetime.now(UTC)
    engine, sessions = await open_database(settings.database_url, settings.pool, settings.caches)
    try:
        async with sessions() as session:
            campaign = await campaign_for_report(session, slug, now)
            if campaign is None:
                raise SystemExit(f"error: no campaign {slug!r}" if slug else "error: there is no campaign yet")
            report = await build_report(session, campaign, now)
    finally:
        await close_database(engine)
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, sort_keys=True))
        return
    from bot.i18n import create_i18n  # imports aiogram (seconds): only the text needs the translations
    from bot.ui.integrity_screens import report_text

    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("en"):
        print(html.unescape(re.sub(r"<[^>]+>", "", report_text(report, per_signal=TOP_FOR_OPERATORS))))


TOP_FOR_OPERATORS = 10


async def migrate_only(settings: Settings) -> None:
    engine, _ = await open_database(settings.database_url, settings.pool, settings.caches)
    await close_database(engine)
    print("database is up to date")
