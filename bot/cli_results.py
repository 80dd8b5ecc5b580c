"""Operator commands of the open results (issue 11): a working group's approved members as CSV, the
campaign's anonymised export (CSV or JSON) and its self-contained HTML report."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Settings
from bot.domain import groups, results
from storage.db import close_database, open_database


async def _group_csv(settings: Settings, group_id: int) -> str | None:
    engine, sessions = await open_database(settings.database_url, settings.pool, settings.caches)
    try:
        async with sessions() as session:
            found = await groups.approved_csv(session, group_id, settings.tz)
    finally:
        await close_database(engine)
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


# ------------------------------------------------------------------ the campaign's open results

async def _load(settings: Settings, slug: str, build):
    engine, sessions = await open_database(settings.database_url, settings.pool, settings.caches)
    try:
        async with sessions() as session:
            campaign = await results.campaign_by_slug(session, slug)
            if campaign is None:
                raise SystemExit(f"error: there is no campaign {slug!r}")
            return await build(session, campaign)
    finally:
        await close_database(engine)


def export_results(settings: Settings, slug: str, file_format: str, out_dir: Path) -> None:
    """One CSV file per table, or one JSON file with every table (see README, "Open results")."""
    now = datetime.now(UTC)
    tables = asyncio.run(_load(settings, slug, lambda session, campaign: results.export_tables(
        session, campaign, settings.tz, now)))
    out_dir.mkdir(parents=True, exist_ok=True)
    if file_format == "json":
        path = out_dir / f"{slug}.json"
        path.write_text(json.dumps({"campaign": slug, "exported_at": now.isoformat(timespec="seconds"), **tables},
                                   ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"wrote {path}")
        return
    for name, rows in tables.items():
        path = out_dir / f"{name}.csv"
        with path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=list(rows[0]) if rows else [])
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {path} ({len(rows)} rows)")


def report(settings: Settings, slug: str, out: Path, languages: list[str]) -> None:
    """The HTML page in each language: exactly `out` for one language, else `out` with .lv/.ru/.en added."""
    from bot.i18n import create_i18n  # imports aiogram (seconds): only the report needs the translations
    from bot.ui.results_screens import render_report

    data = asyncio.run(_load(settings, slug, lambda session, campaign: results.report_data(
        session, campaign, settings.tz, datetime.now(UTC))))
    i18n = create_i18n()
    out.parent.mkdir(parents=True, exist_ok=True)
    for language in languages:
        path = out if len(languages) == 1 else out.with_name(f"{out.stem}.{language}{out.suffix}")
        path.write_text(render_report(i18n, data, language, settings.tz), encoding="utf-8")
        print(f"wrote {path}")
