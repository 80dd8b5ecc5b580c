#!/usr/bin/env bash
# Generate the ManaBalss-scale databases into benchmarks/results/ (git-ignored) and run every benchmark on
# SQLite and on PostgreSQL. Each step's output is also kept in benchmarks/results/*.txt.
#
#   PYTHON=/work/venv/bin/python benchmarks/run_all.sh
#   SKIP_POSTGRES=1 benchmarks/run_all.sh                  # SQLite only
#   POSTGRES_URL=postgresql+asyncpg://user@host/db benchmarks/run_all.sh
#
# The PostgreSQL database named in POSTGRES_URL is DROPPED and created again.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python}
RESULTS=benchmarks/results
SQLITE_URL=${SQLITE_URL:-sqlite+aiosqlite:///$RESULTS/bench.db}
POSTGRES_URL=${POSTGRES_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/manabalss_bench}
mkdir -p "$RESULTS"

{
    echo "code: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!benchmarks' || echo ' + uncommitted changes')"
    echo "cores: $(nproc)"
    "$PYTHON" --version
    "$PYTHON" -c 'import sqlite3; print("SQLite", sqlite3.sqlite_version)'
    if [[ -z "${SKIP_POSTGRES:-}" ]]; then
        "$PYTHON" - "$POSTGRES_URL" <<'EOF'
import asyncio, sys
import asyncpg
sys.path.insert(0, "benchmarks")
from benchlib import asyncpg_params

async def version():
    connection = await asyncpg.connect(**asyncpg_params(sys.argv[1], database="postgres"))
    print((await connection.fetchval("SELECT version()")).split(" on ")[0])
    await connection.close()

asyncio.run(version())
EOF
    fi
} | tee "$RESULTS/machine.txt"

urls=("$SQLITE_URL")
if [[ -z "${SKIP_POSTGRES:-}" ]]; then
    urls+=("$POSTGRES_URL")
fi
for url in "${urls[@]}"; do
    name=$([[ $url == sqlite* ]] && echo sqlite || echo postgresql)
    "$PYTHON" benchmarks/generate.py --db "$url" --replace | tee "$RESULTS/generate-$name.txt"
    "$PYTHON" benchmarks/bench_storage.py --db "$url" | tee "$RESULTS/storage-$name.txt"
    "$PYTHON" benchmarks/bench_search.py --db "$url" | tee "$RESULTS/search-$name.txt"
    "$PYTHON" benchmarks/bench_handler.py --db "$url" | tee "$RESULTS/handler-$name.txt"
done
"$PYTHON" benchmarks/bench_fanout.py | tee "$RESULTS/fanout-sqlite.txt"  # its own database: results/fanout.db
