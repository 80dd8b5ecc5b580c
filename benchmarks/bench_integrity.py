"""The integrity report at ManaBalss scale: `bot.domain.integrity.build_report` over the database made by
generate.py (400,000 residents, 2,000,000 votes), timed per signal and as a whole, wall clock and this process's
CPU time (the machine is shared: CPU time says what the report costs, wall clock what a moderator waits).

    python benchmarks/bench_integrity.py --db sqlite+aiosqlite:///benchmarks/results/bench.db [--runs 1]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from benchlib import DEFAULT_DB, backend_label, load_bench_campaign, load_note, markdown_table

from bot.domain import integrity
from storage.db import open_database

TARGET_SECONDS = 30.0


async def run(url: str, runs: int) -> list[tuple[float, float, set[int]]]:
    engine, sessions = await open_database(url)
    try:
        bench = await load_bench_campaign(sessions)
        results = []
        for _ in range(runs):
            wall, cpu = time.perf_counter(), time.process_time()
            async with sessions() as session:
                report = await integrity.build_report(session, bench.campaign, bench.now)
            results.append((time.perf_counter() - wall, time.process_time() - cpu, report.flagged_ideas))
        return results
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default: {DEFAULT_DB})")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    started_load = load_note()
    results = asyncio.run(run(args.db, args.runs))
    rows = [[str(number), f"{wall:.1f}", f"{cpu:.1f}", "yes" if wall < TARGET_SECONDS else "**no**",
             str(len(flagged))] for number, (wall, cpu, flagged) in enumerate(results, start=1)]
    print(f"{backend_label(args.db)} — integrity report; {started_load}")
    print(markdown_table(["run", "wall s", "CPU s (this process)", f"wall < {TARGET_SECONDS:g} s", "ideas flagged"],
                         rows))


if __name__ == "__main__":
    main()
