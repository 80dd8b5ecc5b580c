"""Latency of the domain operations behind the busiest screens, on a database made by generate.py.

    python benchmarks/bench_storage.py --db sqlite+aiosqlite:///benchmarks/results/bench.db

Each operation opens its own session from the app's session factory, as a handler does, and is timed from
opening that session to closing it. Measured: casting a vote (bot.domain.voting.support) for resident/idea
pairs without a vote, withdrawing those same votes (which leaves the database as it was), and rendering the
first "most supported" page of a category (list_ideas + ideas_list_screen, Latvian). Also reported, as
context: the "newest" page and an idea card (open_idea + idea_card_screen).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

from benchlib import (
    LATENCY_HEADERS,
    BenchCampaign,
    backend_label,
    latency_arguments,
    latency_row,
    load_bench_campaign,
    load_note,
    markdown_table,
    vacuum_if_postgres,
    voted_pairs,
)

from bot.domain import browse, voting
from bot.i18n import create_i18n
from bot.ui import browse_screens
from storage.db import SessionFactory, open_database

TARGETS_MS = {"vote (support)": 5.0, "page (top, first)": 10.0}  # p95 targets on SQLite


async def fresh_pairs(sessions: SessionFactory, bench: BenchCampaign, rng: random.Random,
                      count: int) -> list[tuple[int, int]]:
    """Distinct (idea, resident) pairs that have no vote yet: public ideas and residents drawn at random."""
    idea_ids = bench.idea_ids
    chosen: list[tuple[int, int]] = []
    seen: set[tuple[int, int]] = set()
    while len(chosen) < count:
        candidates = [(rng.choice(idea_ids), rng.choice(bench.resident_ids)) for _ in range(count)]
        candidates = [pair for pair in dict.fromkeys(candidates) if pair not in seen]
        async with sessions() as session:
            taken = await voted_pairs(session, candidates)
        for pair in candidates:
            seen.add(pair)
            if pair not in taken and len(chosen) < count:
                chosen.append(pair)
    return chosen


async def timed(operation: Callable[[], Awaitable[bool]], repeats: int) -> tuple[list[float], int]:
    """Seconds of each call, and how many calls did not do what they should (returned False)."""
    seconds, failed = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        ok = await operation()
        seconds.append(time.perf_counter() - started)
        failed += not ok
    return seconds, failed


def vote_operation(sessions: SessionFactory, pairs: list[tuple[int, int]], bench: BenchCampaign, add: bool):
    vote = voting.support if add else voting.withdraw
    queue = iter(pairs)

    async def operation() -> bool:
        idea_id, user_id = next(queue)
        async with sessions() as session:
            result = await vote(session, idea_id, user_id, bench.now)
        return result.changed and result.refusal is None

    return operation


def page_operation(sessions: SessionFactory, i18n, bench: BenchCampaign, rng: random.Random, sort: str):
    async def operation() -> bool:
        category_id, reader_id = rng.choice(bench.category_ids), rng.choice(bench.resident_ids)
        async with sessions() as session:
            page = await browse.list_ideas(session, category_id, sort, 0, reader_id)
            with i18n.context(), i18n.use_locale("lv"):
                screen = browse_screens.ideas_list_screen(page, "lv")
        return len(page.ideas) == browse.PAGE_SIZE and bool(screen.text)

    return operation


def card_operation(sessions: SessionFactory, i18n, bench: BenchCampaign, rng: random.Random):
    idea_ids = bench.idea_ids

    async def operation() -> bool:
        idea_id, reader_id = rng.choice(idea_ids), rng.choice(bench.resident_ids)
        async with sessions() as session:
            card = await browse.open_idea(session, idea_id, reader_id, bench.now)
            with i18n.context(), i18n.use_locale("lv"):
                screen = browse_screens.idea_card_screen(card, "lv", "manabalss_bot", 0, "top", 0, bench.now)
        return bool(screen.text)

    return operation


async def run(url: str, iterations: int, warmup: int, seed: int) -> list[tuple[str, list[float], int]]:
    await vacuum_if_postgres(url)
    engine, sessions = await open_database(url)
    try:
        bench = await load_bench_campaign(sessions)
        i18n = create_i18n()
        rng = random.Random(seed)
        pairs = await fresh_pairs(sessions, bench, rng, warmup + iterations)
        warm, measured = pairs[:warmup], pairs[warmup:]
        withdrawals = random.Random(seed + 1).sample(measured, len(measured))

        # Warm-up: connections in the pool, statement caches, the database's pages, gettext catalogs.
        for operation in (vote_operation(sessions, warm, bench, add=True),
                          vote_operation(sessions, warm, bench, add=False),
                          page_operation(sessions, i18n, bench, rng, "top"),
                          card_operation(sessions, i18n, bench, rng)):
            await timed(operation, warmup)

        results = []
        cases = [
            ("vote (support)", vote_operation(sessions, measured, bench, add=True)),
            ("vote (withdraw)", vote_operation(sessions, withdrawals, bench, add=False)),
            ("page (top, first)", page_operation(sessions, i18n, bench, rng, "top")),
            ("page (new, first)", page_operation(sessions, i18n, bench, rng, "new")),
            ("idea card", card_operation(sessions, i18n, bench, rng)),
        ]
        for name, operation in cases:
            seconds, failed = await timed(operation, iterations)
            results.append((name, seconds, failed))
        return results
    finally:
        await engine.dispose()


def main() -> None:
    parser = latency_arguments(__doc__, iterations=2_000, warmup=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started_load = load_note()
    results = asyncio.run(run(args.db, args.iterations, args.warmup, args.seed))
    rows = []
    for name, seconds, failed in results:
        row = latency_row(name, seconds)
        target = TARGETS_MS.get(name)
        met = "" if target is None else ("yes" if float(row[4]) < target else "**no**")
        rows.append([*row, f"< {target:g}" if target else "", met, str(failed)])
    print(f"{backend_label(args.db)} — {args.iterations} timed operations each, {args.warmup} warm-up; {started_load}")
    print(markdown_table([*LATENCY_HEADERS, "p95 target ms", "met", "failed"], rows))
    if any(failed for _name, _seconds, failed in results):
        raise SystemExit("some operations failed (see the 'failed' column)")


if __name__ == "__main__":
    main()
