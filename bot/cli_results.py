"""Operator commands of the open results (issue 11): a working group's approved members as CSV, the
campaign's anonymised export (CSV or JSON) and its self-contained HTML report."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.config import Settings
from bot.domain import groups
from storage.db import open_database


async def _group_csv(settings: Settings, group_id: int) -> str | None:
    engine, sessions = await open_database(settings.database_url)
    try:
        async with sessions() as session:
            found = await groups.approved_csv(session, group_id, settings.tz)
    finally:
        await engine.dispose()
    return found[1] if found else None


def export_group(settings: Settings, group_id: int, out: Path | None) -> None:
    text = asyncio.run(_group_csv(settings, group_id))
    if text is None:
        raise SystemExit(f"error: there is no working group {group_id}")
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8-sig")
    print(f"wrote {out}")
