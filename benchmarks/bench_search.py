"""Search latency and what search finds, on a database made by generate.py (5,000 ideas by default).

    python benchmarks/bench_search.py --db sqlite+aiosqlite:///benchmarks/results/bench.db

Each search opens its own session, as a handler does, and is timed from opening that session to closing it:
the query's terms and their typo neighbours, the matching postings, the ranking and the first page of ideas
(bot.domain.search.search). Prints the latency of every query kind and a table of the queries (Latvian and
Russian, inflected, with one-letter typos, Latin-typed Russian) with the number of ideas found and the first.
The CPU time of this process per search (SQLite's work included, PostgreSQL's not) is printed beside the wall
clock, because on a shared machine the wall clock mostly measures the other processes.
"""

from __future__ import annotations

import asyncio
import time

from benchlib import (
    CAMPAIGN_SLUG,
    LATENCY_HEADERS,
    backend_label,
    latency_arguments,
    latency_row,
    load_note,
    markdown_table,
)

from bot.domain import search
from storage.campaigns import campaign_by_slug
from storage.db import open_database

TARGET_MS = 20.0  # p95, every query kind
QUERIES = [  # (what it shows, query)
    ("lv, as in the title", "atvērtos datus"),
    ("lv, other case", "atvērtie dati"),
    ("lv, no diacritics", "pasvaldibu budzeti"),
    ("lv, one typo", "budžrtus"),
    ("lv, swapped letters", "iepikrumus"),
    ("lv, one word, common", "iedzīvotāji"),
    ("lv, sentence (8 words used)", "es gribu lai pašvaldību budžeti un iepirkumi būtu atvērti visiem tiešsaistē"),
    ("ru, as in the title", "открытые данные"),
    ("ru, other case", "открытых данных"),
    ("ru, one typo", "бюджэты"),
    ("ru, Latin-typed", "otkrytye dannye"),
    ("ru, Latin-typed, one typo", "budzhety"),
    ("en", "open data"),
    ("nothing", "zebras"),
]


async def run(url: str, slug: str, iterations: int, warmup: int
              ) -> list[tuple[str, str, list[float], float, int, str]]:
    engine, sessions = await open_database(url)
    try:
        async with sessions() as session:
            campaign = await campaign_by_slug(session, slug)
        results = []
        for kind, query in QUERIES:
            seconds, cpu = [], 0.0
            for repeat in range(warmup + iterations):
                started, cpu_started = time.perf_counter(), time.process_time()
                async with sessions() as session:
                    found = await search.search(session, campaign, query)
                if repeat >= warmup:
                    seconds.append(time.perf_counter() - started)
                    cpu += time.process_time() - cpu_started
            first = found.ideas[0] if found.ideas else None
            language = kind[:2] if kind[:2] in ("lv", "ru") else "en"  # the title in the query's language
            title = (getattr(first, f"title_{language}") or first.title_lv or "") if first else "—"
            results.append((kind, query, seconds, cpu / iterations, found.total, title))
        return results
    finally:
        await engine.dispose()


def main() -> None:
    parser = latency_arguments(__doc__, iterations=200, warmup=20)
    args = parser.parse_args()

    started_load = load_note()
    results = asyncio.run(run(args.db, CAMPAIGN_SLUG, args.iterations, args.warmup))
    latency = []
    for kind, _query, seconds, cpu, _total, _title in results:
        row = latency_row(kind, seconds)
        latency.append([*row, f"{cpu * 1000:.2f}", "yes" if float(row[4]) < TARGET_MS else "**no**"])
    found = [[kind, f"“{query}”", f"{total:,}", title[:60]] for kind, query, _s, _cpu, total, title in results]
    print(f"{backend_label(args.db)} — {args.iterations} timed searches per query, {args.warmup} warm-up; "
          f"{started_load}")
    print(markdown_table([*LATENCY_HEADERS, "CPU ms (this process, mean)", f"p95 < {TARGET_MS:g} ms"], latency))
    print()
    print(markdown_table(["query kind", "query", "ideas found", "first (title)"], found))
    if any(float(row[4]) >= TARGET_MS for row in latency):
        raise SystemExit(f"some query kinds miss the p95 target of {TARGET_MS:g} ms")


if __name__ == "__main__":
    main()
