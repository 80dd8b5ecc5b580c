"""Bounded caches of the records a button press reads: residents (storage.users.Resident) and idea cards
(storage.ideas.CardParts), so that a vote press reads nothing before its write.

The rule, with several processes in mind:
- Every entry is valid only under the *generations* it was loaded under: counters kept per record
  ("resident:42", "idea:7") and per kind ("idea": a write whose rows we cannot tell; "campaign": campaigns and
  categories; "plan": commitments and working groups). A press reads the current generations first (with
  REDIS_URL from Redis, shared by every process: one MGET, shared with the presses in flight; otherwise from
  this process), then uses an entry only if it was loaded under exactly those. So a ban, a language change,
  an edit or a hiding made by any process is seen by the next press anywhere: rights and object state are
  checked again on every press.
- Nobody has to remember to invalidate: every session of ours (storage.db.session_factory) records which
  cached tables a transaction wrote (ORM flushes and UPDATE/DELETE/INSERT statements alike), and after its
  COMMIT the generations of those records (or of the whole kind, when the rows cannot be told) go up. Bumping
  after the commit means a press that still sees the old generation reads what it would have read just
  before the commit.
- Counts of supporters are never cached (a vote's UPDATE returns the count; a card's count is read with the
  reader's own vote), so votes invalidate nothing. A write that only changes counts is not a change here.
- Without Redis the generations are this process's own: right for the one-process deployments (SQLite, or
  PostgreSQL with one bot process). What another process changes without Redis (the `import` command while
  the bot runs) is seen when the entry expires: entries live at most CACHE_TTL_SECONDS in any case.
- PostgreSQL without Redis may have several bot processes that cannot tell each other: no caches there.
Sizes: RESIDENT_CACHE_SIZE and CARD_CACHE_SIZE entries, least recently used dropped first (README, Settings)."""

from __future__ import annotations

import logging
import time
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList, ColumnClause
from sqlalchemy.util import await_only
from sqlmodel import Session

from storage.batching import Batcher

log = logging.getLogger(__name__)
T = TypeVar("T")
STALE_KEY = "stale_cache_keys"  # in Session.info: what the open transaction changed

# Which records a write to a table changes: (kind, column that holds the record's id, or None: the whole kind).
TABLE_KINDS: dict[str, tuple[str, str | None]] = {
    "resident": ("resident", "id"),
    "idea": ("idea", "id"),
    "status_change": ("idea", "idea_id"),
    "idea_commitment": ("idea", "idea_id"),
    "campaign": ("campaign", None),
    "category": ("campaign", None),
    "commitment": ("plan", None),
    "working_group": ("plan", None),
}
UNCACHED_COLUMNS = {"idea": frozenset({"supporters_count"})}  # changing only these changes no cached record


@dataclass(frozen=True)
class CacheConfig:
    residents: int = 50_000
    cards: int = 2_000
    ttl: float = 60.0
    redis_url: str | None = None


def resident_keys(user_id: int) -> tuple[str, ...]:
    return (f"resident:{user_id}", "resident")


def card_keys(idea_id: int) -> tuple[str, ...]:
    return (f"idea:{idea_id}", "idea", "campaign", "plan")


class LocalGenerations:
    """This process's generations (see the module docstring for when that is enough)."""

    def __init__(self) -> None:
        self.values: defaultdict[str, int] = defaultdict(int)

    async def read(self, keys: Iterable[str]) -> tuple[int, ...]:
        return tuple(self.values[key] for key in keys)

    def bump_now(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.values[key] += 1

    async def bump(self, keys: Iterable[str]) -> None:
        self.bump_now(keys)


class RedisGenerations:
    """Generations in Redis, shared by every process of the deployment. The reads of concurrent presses share
    one MGET, and the bumps of concurrent commits one pipeline (storage/batching.py: never an MGET sent before
    the read was asked for, so a bump completed before it is seen)."""

    def __init__(self, url: str, prefix: str = "manabalss:gen:") -> None:
        from redis.asyncio import Redis

        self.redis = Redis.from_url(url)
        self.prefix = prefix
        self._reads: Batcher[tuple[str, ...], tuple[int, ...]] = Batcher(self._mget)
        self._bumps: Batcher[frozenset[str], None] = Batcher(self._incr)

    async def read(self, keys: Iterable[str]) -> tuple[int, ...]:
        return await self._reads(tuple(keys))

    async def bump(self, keys: Iterable[str]) -> None:
        await self._bumps(frozenset(keys))

    async def _mget(self, requests: list[tuple[str, ...]]) -> list[tuple[int, ...]]:
        keys = list(dict.fromkeys(key for request in requests for key in request))  # "idea", "plan"...: once
        values = dict(zip(keys, await self.redis.mget([self.prefix + key for key in keys]), strict=True))
        return [tuple(int(values[key] or 0) for key in request) for request in requests]

    async def _incr(self, requests: list[frozenset[str]]) -> list[None]:
        # A key in several requests goes up once: after all their commits, which is all each one needs.
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in frozenset().union(*requests):
                pipe.incr(self.prefix + key)
            await pipe.execute()
        return [None] * len(requests)


class BoundedCache:
    """Least recently used first out, at most `size` entries, each at most `ttl` seconds old."""

    def __init__(self, size: int, ttl: float) -> None:
        self.size = size
        self.ttl = ttl
        self.entries: OrderedDict[Any, tuple[tuple[int, ...], float, Any]] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, key: Any, generations: tuple[int, ...]) -> tuple[bool, Any]:
        entry = self.entries.get(key)
        if entry is None or entry[0] != generations or time.monotonic() - entry[1] > self.ttl:
            self.misses += 1
            return False, None
        self.entries.move_to_end(key)
        self.hits += 1
        return True, entry[2]

    def put(self, key: Any, generations: tuple[int, ...], value: Any) -> None:
        if self.size <= 0:
            return
        self.entries[key] = (generations, time.monotonic(), value)
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)


class Caches:
    def __init__(self, config: CacheConfig, reader: Engine | None = None) -> None:
        self.config = config
        # SQLite: the records are read on a plain sqlite3 connection of the event loop's thread. A read by key
        # takes microseconds there; through aiosqlite it is several hand-overs to its thread and back.
        self.reader = reader
        self._read_connection: Any = None

        self.generations: LocalGenerations | RedisGenerations = (
            RedisGenerations(config.redis_url) if config.redis_url else LocalGenerations())
        self.residents = BoundedCache(config.residents, config.ttl)
        self.cards = BoundedCache(config.cards, config.ttl)

    def read_now(self, sql: str, parameters: tuple) -> tuple | None:
        """One row of a read on the reader's own sqlite3 connection (kept open), in this thread."""
        if self._read_connection is None:
            self._read_connection = self.reader.raw_connection()
        return self._read_connection.driver_connection.execute(sql, parameters).fetchone()

    async def fetch(self, cache: BoundedCache, key: Any, keys: tuple[str, ...],
                    load: Callable[[], Awaitable[T | None]]) -> T | None:
        """The cached value of `key` if still valid, else `load()`'s (kept unless None)."""
        generations = await self.generations.read(keys)  # before the load: a write meanwhile voids the entry
        found, value = cache.get(key, generations)
        if found:
            return value
        value = await load()
        if value is not None:
            cache.put(key, generations, value)
        return value

    def publish(self, keys: set[str]) -> None:
        """After a commit (inside SQLAlchemy's greenlet, where await_only may wait for Redis)."""
        generations = self.generations
        if isinstance(generations, LocalGenerations):
            generations.bump_now(keys)
            return
        try:
            await_only(generations.bump(keys))
        except Exception:  # Redis down: other processes see the change when their entries expire
            log.warning("could not publish %s changed records to Redis", len(keys), exc_info=True)


_caches: weakref.WeakKeyDictionary[Engine, Caches] = weakref.WeakKeyDictionary()


def enable_caches(engine: AsyncEngine, config: CacheConfig, on_connect: Callable[..., None] | None = None) -> None:
    """Caches for `engine`'s sessions, when they can be kept right (module docstring): SQLite, or with Redis.
    On an SQLite file they read through a synchronous connection of their own (`on_connect`: its pragmas)."""
    if engine.dialect.name != "sqlite" and not config.redis_url:
        _caches.pop(engine.sync_engine, None)
        return
    reader = None
    if engine.dialect.name == "sqlite" and engine.url.database and engine.url.database != ":memory:":
        reader = create_engine(engine.url.set(drivername="sqlite"), pool_size=2, max_overflow=0)
        if on_connect is not None:
            event.listen(reader, "connect", on_connect)
    _caches[engine.sync_engine] = Caches(config, reader)


def caches_of(session: Any) -> Caches | None:
    bind = session.bind
    return _caches.get(bind.sync_engine) if isinstance(bind, AsyncEngine) else None


# --- what a transaction changed --------------------------------------------------------------------------


def _where_ids(where: Any, column: str) -> list[Any] | None:
    """The ids a WHERE clause limits the rows to (`column = x` or `column IN (...)` among its ANDed terms)."""
    if where is None:
        return None
    terms = where.clauses if isinstance(where, BooleanClauseList) and where.operator is operators.and_ else [where]
    for term in terms:
        if not (isinstance(term, BinaryExpression) and isinstance(term.left, ColumnClause)
                and term.left.name == column and isinstance(term.right, BindParameter)):
            continue
        if term.operator is operators.eq:
            return [term.right.value]
        if term.operator is operators.in_op and isinstance(term.right.value, list | tuple):
            return list(term.right.value)
    return None


def statement_keys(statement: Any) -> set[str]:
    """The cache keys an UPDATE, DELETE or INSERT statement changes."""
    table = getattr(statement, "table", None)
    kind = TABLE_KINDS.get(getattr(table, "name", ""))
    if kind is None:
        return set()
    name, column = kind
    if statement.is_update:
        changed = {getattr(key, "key", key) for key in (statement._values or {})}
        if changed and changed <= UNCACHED_COLUMNS.get(table.name, frozenset()):
            return set()
    ids = _where_ids(getattr(statement, "whereclause", None), column) if column and not statement.is_insert else None
    if statement.is_insert and column:
        values = statement._values or {}
        value = next((v for k, v in values.items() if getattr(k, "key", k) == column), None)
        ids = [value.value] if isinstance(value, BindParameter) else None
    if ids is None:
        return {name}
    return {f"{name}:{record_id}" for record_id in ids}


def object_keys(obj: Any) -> set[str]:
    table = getattr(obj, "__tablename__", None)
    kind = TABLE_KINDS.get(table or "")
    if kind is None:
        return set()
    name, column = kind
    record_id = getattr(obj, column, None) if column else None
    return {f"{name}:{record_id}"} if record_id is not None else {name}


class TrackingSession(Session):
    """The synchronous session under our AsyncSession: records what its transaction changed (see above)."""


def _stale(session: Session) -> set[str]:
    return session.info.setdefault(STALE_KEY, set())


@event.listens_for(TrackingSession, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    stale = _stale(session)
    for obj in (*session.new, *session.deleted):
        stale |= object_keys(obj)
    for obj in session.dirty:
        if not session.is_modified(obj, include_collections=False):
            continue
        table = getattr(obj, "__tablename__", "")
        changed = {attr.key for attr in obj._sa_instance_state.attrs if attr.history.has_changes()}
        if changed and changed <= UNCACHED_COLUMNS.get(table, frozenset()):
            continue
        stale |= object_keys(obj)


@event.listens_for(TrackingSession, "do_orm_execute")
def _on_execute(state: Any) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        keys = statement_keys(state.statement)
        if keys:
            _stale(state.session).update(keys)


@event.listens_for(TrackingSession, "after_commit")
def _after_commit(session: Session) -> None:
    stale = session.info.pop(STALE_KEY, None)
    if not stale:
        return
    bind = session.bind
    caches = _caches.get(bind) if bind is not None else None
    if caches is not None:
        caches.publish(stale)


@event.listens_for(TrackingSession, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(STALE_KEY, None)
