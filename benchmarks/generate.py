"""Fill a database at ManaBalss scale: residents, one campaign with ~8 categories, ideas and skewed votes.

    python benchmarks/generate.py --db sqlite+aiosqlite:///benchmarks/results/bench.db --replace
    python benchmarks/generate.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/manabalss_bench --replace

The schema comes from the project's migrations (storage.db.migrate) and the campaign with its categories from
the real import (import_campaign); residents, ideas and votes are then bulk-loaded: stdlib sqlite3 with
executemany in big transactions for SQLite, asyncpg's COPY for PostgreSQL. Every idea's supporters_count
equals its number of vote rows, and this is checked at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

import asyncpg
from benchlib import (
    CAMPAIGN_SLUG,
    DEFAULT_DB,
    RESIDENT_ID_BASE,
    asyncpg_params,
    backend_label,
    is_sqlite,
    reset_postgres,
    reset_sqlite,
    sqlite_path,
)
from sqlalchemy.dialects.sqlite import pysqlite
from sqlmodel import select
from textgen import idea_texts

from bot.domain.campaign_file import parse_campaign
from bot.domain.campaigns import import_campaign
from storage.campaigns import campaign_by_slug
from storage.db import create_engine, migrate, session_factory
from storage.ideas import refresh_search_text
from storage.models import Category, IdeaStatus, UTCDateTime
from storage.search import key_rows, term_rows

CATEGORIES = [  # key, lv, ru, en, share of the ideas
    ("transparency", "Atklātība", "Открытость", "Transparency", 0.22),
    ("accountability", "Atbildīgums", "Подотчётность", "Accountability", 0.16),
    ("participation", "Līdzdalība", "Участие", "Participation", 0.18),
    ("digital", "Digitālā pārvaldība", "Цифровое управление", "Digital government", 0.14),
    ("municipal", "Pašvaldības", "Самоуправления", "Municipalities", 0.12),
    ("integrity", "Godprātība", "Добросовестность", "Integrity", 0.08),
    ("education", "Izglītība un jaunieši", "Образование и молодёжь", "Education and youth", 0.06),
    ("environment", "Vide", "Окружающая среда", "Environment", 0.04),
]
STARTS_AT = "2026-11-16T00:00:00+02:00"
ENDS_AT = "2026-12-20T23:59:00+02:00"
HIDDEN_SHARE = 0.03  # proposals waiting for moderation or rejected: not public, no votes
CHUNK = 200_000  # rows per executemany / COPY call


@dataclass(frozen=True)
class Sizes:
    residents: int
    ideas: int
    votes: int
    seed: int


# --- the campaign, through the project's own import ------------------------------------------------


def campaign_spec():
    return parse_campaign({"campaign": {
        "slug": CAMPAIGN_SLUG,
        "title": {"lv": "Atvērtā Latvija (slodzes tests)", "ru": "Открытая Латвия (нагрузочный тест)",
                  "en": "Open Latvia (load test)"},
        "description": {"lv": "Balso par idejām atvērtākai pārvaldībai.",
                        "ru": "Голосуйте за идеи для более открытого управления."},
        "starts_at": STARTS_AT,
        "ends_at": ENDS_AT,
        "categories": [{"key": key, "title": {"lv": lv, "ru": ru, "en": en}}
                       for key, lv, ru, en, _share in CATEGORIES],
    }})


async def migrate_and_import(url: str) -> tuple[int, dict[str, int], datetime, datetime]:
    """Schema and campaign; returns (campaign id, category ids by key, starts_at, ends_at)."""
    engine = create_engine(url)
    try:
        await migrate(engine)
        async with session_factory(engine)() as session:
            spec = campaign_spec()
            report = await import_campaign(session, spec)
            if not report.campaign_created:
                sys.exit("the database already holds the benchmark campaign: pass --replace to start afresh")
            campaign = await campaign_by_slug(session, CAMPAIGN_SLUG)
            rows = await session.exec(select(Category).where(Category.campaign_id == campaign.id))
            categories = {category.key: category.id for category in rows.all()}
            return campaign.id, categories, campaign.starts_at, campaign.ends_at
    finally:
        await engine.dispose()


# --- rows --------------------------------------------------------------------------------------------


@dataclass
class IdeaRow:
    id: int
    category_key: str
    status: str
    created_at: datetime
    author_id: int | None
    supporters: int = 0


def plan_ideas(sizes: Sizes, rng: random.Random, starts_at: datetime, now: datetime) -> list[IdeaRow]:
    """Categories by their share; 80 % imported before the start, the rest residents' proposals since."""
    keys = [key for key, *_ in CATEGORIES]
    shares = [share for *_, share in CATEGORIES]
    ideas = []
    for idea_id in range(1, sizes.ideas + 1):
        imported = rng.random() < 0.8
        if imported:
            created = starts_at - timedelta(days=14) * rng.random()
            author, status = None, IdeaStatus.PUBLISHED
        else:
            created = starts_at + (now - starts_at) * rng.random()
            author = RESIDENT_ID_BASE + rng.randrange(sizes.residents)
            hidden = rng.random() < HIDDEN_SHARE / 0.2
            status = rng.choice([IdeaStatus.PENDING, IdeaStatus.REJECTED]) if hidden else IdeaStatus.PUBLISHED
        ideas.append(IdeaRow(idea_id, rng.choices(keys, shares)[0], status, created, author))
    return ideas


def assign_vote_counts(ideas: list[IdeaRow], sizes: Sizes, rng: random.Random) -> None:
    """A Zipf-like popularity over the public ideas in random order: a few ideas gather tens of thousands
    of supports, most only a handful. The counts add up to exactly sizes.votes."""
    public = [idea for idea in ideas if idea.status == IdeaStatus.PUBLISHED]
    rng.shuffle(public)
    weights = [1 / (rank + 8) ** 1.1 for rank in range(len(public))]
    scale = sizes.votes / sum(weights)
    counts = [min(sizes.residents, int(weight * scale)) for weight in weights]
    missing = sizes.votes - sum(counts)
    for index in range(len(counts)):  # hand out the rounding remainder to the tail
        if missing <= 0:
            break
        if counts[-1 - index] < sizes.residents:
            counts[-1 - index] += 1
            missing -= 1
    for idea, count in zip(public, counts, strict=True):
        idea.supporters = count


def vote_times(rng: random.Random, starts_at: datetime, now: datetime, size: int = 50_000) -> list[datetime]:
    """A sorted pool of moments between the start and now; votes draw from it (formatting 2M dates is slow)."""
    span = (now - starts_at).total_seconds()
    return sorted(starts_at + timedelta(seconds=rng.random() * span) for _ in range(size))


def vote_rows(ideas: list[IdeaRow], sizes: Sizes, rng: random.Random, times: list) -> Iterator[tuple]:
    """(idea_id, user_id, created_at) in primary-key order, so the index grows at its end.
    `times` pairs each datetime with the value to store; a vote never predates its idea."""
    moments = [moment for moment, _value in times]
    for idea in ideas:
        if not idea.supporters:
            continue
        last = len(times) - 1
        first = min(bisect.bisect_left(moments, idea.created_at), last)
        for offset in sorted(rng.sample(range(sizes.residents), idea.supporters)):
            yield idea.id, RESIDENT_ID_BASE + offset, times[rng.randint(first, last)][1]


def resident_rows(sizes: Sizes, rng: random.Random, starts_at: datetime, convert) -> Iterator[tuple]:
    """(id, language, language_chosen, subscribed, created_at): mostly Latvian and Russian readers."""
    joined = [convert(starts_at - timedelta(days=30) + timedelta(minutes=m)) for m in range(0, 60 * 24 * 60, 7)]
    for offset in range(sizes.residents):
        language = rng.choices(("lv", "ru", "en"), (0.62, 0.34, 0.04))[0]
        yield (RESIDENT_ID_BASE + offset, language, rng.random() < 0.2, rng.random() < 0.1,
               joined[offset * len(joined) // sizes.residents])


IDEA_COLUMNS = ("id", "campaign_id", "category_id", "key", "status", "title_lv", "title_ru", "title_en",
                "body_lv", "body_ru", "body_en", "search_text", "supporters_count", "author_id", "created_at")
SEARCH_TERM_COLUMNS = ("idea_id", "term", "in_title")
SEARCH_KEY_COLUMNS = ("key", "term")
RESIDENT_COLUMNS = ("id", "language", "language_chosen", "subscribed", "created_at")
VOTE_COLUMNS = ("idea_id", "user_id", "created_at")


def idea_records(ideas: list[IdeaRow], campaign_id: int, categories: dict[str, int], rng: random.Random,
                 convert) -> list[tuple]:
    records = []
    for idea in ideas:
        texts = idea_texts(rng)
        row = dict(texts)
        holder = SimpleNamespace(**texts)
        refresh_search_text(holder)  # the same search_text the import writes
        row.update(id=idea.id, campaign_id=campaign_id, category_id=categories[idea.category_key],
                   key=f"{idea.category_key}.idea-{idea.id}", status=str(idea.status),
                   search_text=holder.search_text, supporters_count=idea.supporters,
                   author_id=idea.author_id, created_at=convert(idea.created_at))
        records.append(tuple(row[column] for column in IDEA_COLUMNS))
    return records


def search_records(idea_rows: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """The search index of the ideas (storage.search, as the import writes it): term rows and key rows."""
    first_text = IDEA_COLUMNS.index("title_lv")  # then title_ru, title_en, body_lv, body_ru, body_en
    terms = [row for idea in idea_rows for row in term_rows(idea[0], idea[first_text:first_text + 6])]
    return terms, sorted(key_rows(term for _idea, term, _title in terms))


def chunks(rows: Iterator[tuple], size: int = CHUNK) -> Iterator[list[tuple]]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- loading -----------------------------------------------------------------------------------------


def sqlite_timestamp():
    """The exact text the app's UTCDateTime column writes in SQLite (ordering and comparisons rely on it)."""
    dialect = pysqlite.dialect()
    return UTCDateTime().dialect_impl(dialect).bind_processor(dialect)


def load_sqlite(url: str, sizes: Sizes, campaign_id: int, categories: dict[str, int], starts_at: datetime,
                now: datetime) -> None:
    rng = random.Random(sizes.seed)
    convert = sqlite_timestamp()
    connection = sqlite3.connect(sqlite_path(url), isolation_level=None)
    # The app's pragmas (storage.db._sqlite_pragmas), plus a big page cache for this load only.
    for pragma in ("journal_mode=WAL", "busy_timeout=10000", "foreign_keys=ON", "synchronous=NORMAL",
                   "cache_size=-500000"):
        connection.execute(f"PRAGMA {pragma}")
    ideas = plan_ideas(sizes, rng, starts_at, now)
    assign_vote_counts(ideas, sizes, rng)
    times = [(moment, convert(moment)) for moment in vote_times(rng, starts_at, now)]

    def insert(table: str, columns: tuple[str, ...], rows: Iterator[tuple]) -> None:
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        for batch in chunks(rows):
            connection.execute("BEGIN")
            connection.executemany(sql, batch)
            connection.execute("COMMIT")

    # The resident index of votes is built once at the end: much faster than 2M random index inserts.
    index_sql = [sql for (sql,) in connection.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'vote' AND sql IS NOT NULL")]
    for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'vote' AND sql IS NOT NULL"
    ).fetchall():
        connection.execute(f"DROP INDEX {name}")
    insert("resident", RESIDENT_COLUMNS, resident_rows(sizes, rng, starts_at, convert))
    records = idea_records(ideas, campaign_id, categories, rng, convert)
    insert("idea", IDEA_COLUMNS, iter(records))
    terms, keys = search_records(records)
    insert("search_term", SEARCH_TERM_COLUMNS, iter(terms))
    insert("search_key", SEARCH_KEY_COLUMNS, iter(keys))
    insert("vote", VOTE_COLUMNS, vote_rows(ideas, sizes, rng, times))
    for sql in index_sql:
        connection.execute(sql)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


async def load_postgres(url: str, sizes: Sizes, campaign_id: int, categories: dict[str, int],
                        starts_at: datetime, now: datetime) -> None:
    rng = random.Random(sizes.seed)
    ideas = plan_ideas(sizes, rng, starts_at, now)
    assign_vote_counts(ideas, sizes, rng)
    times = [(moment, moment) for moment in vote_times(rng, starts_at, now)]
    connection = await asyncpg.connect(**asyncpg_params(url))
    try:
        # Secondary indexes and foreign keys of the vote table are rebuilt and re-validated once at the end.
        deferred = await connection.fetch(
            "SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
            "WHERE conrelid = 'vote'::regclass AND contype = 'f'")
        indexes = await connection.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'vote' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'vote'::regclass)")
        for row in deferred:
            await connection.execute(f'ALTER TABLE vote DROP CONSTRAINT "{row["name"]}"')
        for row in indexes:
            await connection.execute(f'DROP INDEX "{row["indexname"]}"')

        async def copy(table: str, columns: tuple[str, ...], rows: Iterator[tuple]) -> None:
            for batch in chunks(rows):
                await connection.copy_records_to_table(table, records=batch, columns=columns)

        await copy("resident", RESIDENT_COLUMNS, resident_rows(sizes, rng, starts_at, lambda moment: moment))
        records = idea_records(ideas, campaign_id, categories, rng, lambda moment: moment)
        await copy("idea", IDEA_COLUMNS, iter(records))
        terms, keys = search_records(records)
        await copy("search_term", SEARCH_TERM_COLUMNS, iter(terms))
        await copy("search_key", SEARCH_KEY_COLUMNS, iter(keys))
        await copy("vote", VOTE_COLUMNS, vote_rows(ideas, sizes, rng, times))
        for row in indexes:
            await connection.execute(row["indexdef"])
        for row in deferred:
            await connection.execute(f'ALTER TABLE vote ADD CONSTRAINT "{row["name"]}" {row["definition"]}')
        await connection.execute("SELECT setval(pg_get_serial_sequence('idea', 'id'), (SELECT max(id) FROM idea))")
        await connection.execute("VACUUM ANALYZE")  # what autovacuum would have done on a live database
        await connection.execute("CHECKPOINT")  # else writing the load out slows the benchmarks that follow
    finally:
        await connection.close()


# --- preparing the target and checking the result ----------------------------------------------------


async def ensure_postgres_database(url: str) -> None:
    name = asyncpg_params(url)["database"]
    admin = await asyncpg.connect(**asyncpg_params(url, database="postgres"))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


CHECK_SQL = {
    "votes": "SELECT count(*) FROM vote",
    "residents": "SELECT count(*) FROM resident",
    "ideas": "SELECT count(*) FROM idea",
    "wrong supporters_count": "SELECT count(*) FROM idea WHERE supporters_count <> "
                              "(SELECT count(*) FROM vote WHERE vote.idea_id = idea.id)",
    "most supported": "SELECT max(supporters_count) FROM idea",
    "median supported": "SELECT supporters_count FROM idea WHERE status = 'published' "
                        "ORDER BY supporters_count LIMIT 1 OFFSET (SELECT count(*) / 2 FROM idea "
                        "WHERE status = 'published')",
}


async def check(url: str) -> dict[str, int]:
    if is_sqlite(url):
        connection = sqlite3.connect(sqlite_path(url))
        try:
            return {name: connection.execute(sql).fetchone()[0] for name, sql in CHECK_SQL.items()}
        finally:
            connection.close()
    connection = await asyncpg.connect(**asyncpg_params(url))
    try:
        return {name: await connection.fetchval(sql) for name, sql in CHECK_SQL.items()}
    finally:
        await connection.close()


async def generate(url: str, sizes: Sizes, replace: bool) -> None:
    if is_sqlite(url) and replace:
        reset_sqlite(url)
    elif is_sqlite(url):
        sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)
    elif replace:
        await reset_postgres(url)
    else:
        await ensure_postgres_database(url)
    campaign_id, categories, starts_at, ends_at = await migrate_and_import(url)
    now = starts_at + (ends_at - starts_at) / 2  # the moment the benchmarks use
    if is_sqlite(url):
        load_sqlite(url, sizes, campaign_id, categories, starts_at, now)
    else:
        await load_postgres(url, sizes, campaign_id, categories, starts_at, now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default: {DEFAULT_DB})")
    parser.add_argument("--residents", type=int, default=400_000)
    parser.add_argument("--ideas", type=int, default=5_000)
    parser.add_argument("--votes", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--replace", action="store_true",
                        help="delete the SQLite file / drop and create the PostgreSQL database first")
    args = parser.parse_args()
    sizes = Sizes(args.residents, args.ideas, args.votes, args.seed)
    started = time.perf_counter()
    asyncio.run(generate(args.db, sizes, args.replace))
    loaded = time.perf_counter() - started
    counts = asyncio.run(check(args.db))
    print(f"{backend_label(args.db)}: generated in {loaded:.1f} s — " + ", ".join(
        f"{name}: {value:,}" for name, value in counts.items()))
    if counts["wrong supporters_count"]:
        sys.exit("supporters_count differs from the vote rows")


if __name__ == "__main__":
    main()
