"""Helpers shared by the benchmark scripts: database URLs, the benchmark campaign, timing statistics."""

from __future__ import annotations

import argparse
import math
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import SessionFactory, async_url
from storage.models import VISIBLE_STATUSES, Campaign, Idea

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_DB = f"sqlite+aiosqlite:///{RESULTS_DIR / 'bench.db'}"
CAMPAIGN_SLUG = "bench-campaign"
# Telegram ids of generated residents are RESIDENT_ID_BASE + 0 .. residents - 1.
RESIDENT_ID_BASE = 100_000_000


def latency_arguments(doc: str, iterations: int, warmup: int) -> argparse.ArgumentParser:
    """The options every latency benchmark takes: the database, how many timed and warm-up operations."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default: {DEFAULT_DB})")
    parser.add_argument("--iterations", type=int, default=iterations)
    parser.add_argument("--warmup", type=int, default=warmup)
    return parser


def is_sqlite(url: str) -> bool:
    return make_url(async_url(url)).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path:
    return Path(make_url(async_url(url)).database)


def asyncpg_params(url: str, database: str | None = None) -> dict:
    """Keyword arguments for asyncpg.connect from a SQLAlchemy URL."""
    parsed = make_url(async_url(url))
    return {"host": parsed.host, "port": parsed.port or 5432, "user": parsed.username,
            "password": parsed.password, "database": database or parsed.database}


def backend_label(url: str) -> str:
    return "SQLite" if is_sqlite(url) else "PostgreSQL"


# --- the generated campaign ------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchCampaign:
    campaign: Campaign
    now: datetime  # a moment inside the campaign's dates: voting is open
    idea_ids_by_category: dict[int, list[int]]  # visible ideas only
    resident_ids: range

    @property
    def category_ids(self) -> list[int]:
        return list(self.idea_ids_by_category)

    @property
    def idea_ids(self) -> list[int]:
        return [idea_id for ids in self.idea_ids_by_category.values() for idea_id in ids]


async def load_bench_campaign(sessions: SessionFactory) -> BenchCampaign:
    """What the benchmarks need to know about a database made by generate.py."""
    async with sessions() as session:
        campaign = (await session.exec(select(Campaign).where(Campaign.slug == CAMPAIGN_SLUG))).first()
        if campaign is None:
            sys.exit(f"no campaign {CAMPAIGN_SLUG!r} in this database: run benchmarks/generate.py first")
        rows = await session.exec(
            select(Idea.category_id, Idea.id)
            .where(Idea.campaign_id == campaign.id, Idea.status.in_(VISIBLE_STATUSES))
            .order_by(Idea.category_id, Idea.id)
        )
        by_category: dict[int, list[int]] = {}
        for category_id, idea_id in rows.all():
            by_category.setdefault(category_id, []).append(idea_id)
        count = (await session.exec(text("SELECT count(*) FROM resident"))).scalar_one()
    now = campaign.starts_at + (campaign.ends_at - campaign.starts_at) / 2
    return BenchCampaign(campaign, now, by_category, range(RESIDENT_ID_BASE, RESIDENT_ID_BASE + count))


async def voted_pairs(session: AsyncSession, pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of the (idea, resident) pairs already have a vote (checked in chunks, outside any timing)."""
    found: set[tuple[int, int]] = set()
    for start in range(0, len(pairs), 500):
        chunk = pairs[start:start + 500]
        clauses = " OR ".join(f"(idea_id = {idea} AND user_id = {user})" for idea, user in chunk)
        rows = await session.exec(text(f"SELECT idea_id, user_id FROM vote WHERE {clauses}"))
        found.update((idea, user) for idea, user in rows.all())
    return found


# --- statistics and output -------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_row(name: str, seconds: Sequence[float]) -> list[str]:
    """A table row in milliseconds: name, n, mean, p50, p95, p99, max."""
    values = sorted(seconds)
    mean = sum(values) / len(values)
    cells = [mean, percentile(values, 0.50), percentile(values, 0.95), percentile(values, 0.99), values[-1]]
    return [name, str(len(values)), *(f"{value * 1000:.2f}" for value in cells)]


LATENCY_HEADERS = ["operation", "n", "mean ms", "p50 ms", "p95 ms", "p99 ms", "max ms"]


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def machine_line() -> str:
    return (f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"{platform.system()} {platform.machine()}")


def cpu_ticks() -> tuple[int, int]:
    """Busy and total clock ticks of all cores so far (/proc/stat)."""
    with open("/proc/stat") as stat:  # first line: all cores, in clock ticks
        ticks = [int(value) for value in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return sum(ticks) - idle, sum(ticks)


def cores_busy(seconds: float = 1.0) -> float:
    """The share of all cores' time other processes used during `seconds` while this one slept (OSError: no /proc)."""
    before = cpu_ticks()
    time.sleep(seconds)
    return busy_share(before, cpu_ticks())


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The share of all cores' time that was busy between two `cpu_ticks()` readings."""
    return (after[0] - before[0]) / max(1, after[1] - before[1])


def load_note(seconds: float = 1.0) -> str:
    """How busy the machine is just before a run, measured over one second while this process waits: other
    processes on these 2 cores move the numbers a lot. (The load average would count the previous step.)"""
    one_minute = os.getloadavg()[0]
    try:
        busy = cores_busy(seconds)
    except OSError:  # no /proc: say what we know
        return f"load average {one_minute:.2f} on {os.cpu_count()} cores"
    note = f"other processes used {busy:.0%} of the {os.cpu_count()} cores just before (load average {one_minute:.2f})"
    return note + (" — BUSY MACHINE, numbers will be noisy" if busy > 0.15 else "")


async def vacuum_if_postgres(url: str) -> None:
    """VACUUM ANALYZE the tables votes rewrite. Every vote updates its idea's row (a new row version), and
    autovacuum is off on some servers (the test server here); production has it on, so start from its state."""
    if is_sqlite(url):
        return
    connection = await asyncpg.connect(**asyncpg_params(url))
    try:
        await connection.execute("VACUUM ANALYZE idea, vote")
    finally:
        await connection.close()


def reset_sqlite(url: str) -> None:
    """Start from nothing: delete the SQLite file and its WAL."""
    path = sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def reset_postgres(url: str) -> None:
    """Start from nothing: drop and create the PostgreSQL database."""
    name = asyncpg_params(url)["database"]
    admin = await asyncpg.connect(**asyncpg_params(url, database="postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
