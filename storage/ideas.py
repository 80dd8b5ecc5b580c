"""Ideas: the pages residents browse, the card, search and the import's writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, make_dataclass
from typing import Any

from sqlalchemy import and_, func
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import defer
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.cache import caches_of, card_keys
from storage.models import VISIBLE_STATUSES, Campaign, Category, Idea, IdeaCommitment, Vote
from storage.pg_direct import direct_connections
from storage.text import search_key

SORT_TOP = "top"
SORT_NEW = "new"


def public_condition():
    """Ideas residents can see: published or further along, and not hidden by reports."""
    return and_(Idea.status.in_(VISIBLE_STATUSES), Idea.hidden.is_(False))


def is_public(idea: Idea) -> bool:
    return idea.status in VISIBLE_STATUSES and not idea.hidden


def _visible_in(category_id: int):
    return and_(Idea.category_id == category_id, public_condition())


async def ideas_page(
    session: AsyncSession, category_id: int, sort: str, offset: int, limit: int
) -> Sequence[Idea]:
    if sort == SORT_NEW:
        order = (Idea.created_at.desc(), Idea.id.desc())
    else:
        order = (Idea.supporters_count.desc(), Idea.id)
    # The page's ids first, from the category index alone; then only those rows (with their long texts).
    page_ids = select(Idea.id).where(_visible_in(category_id)).order_by(*order).offset(offset).limit(limit)
    result = await session.exec(select(Idea).where(Idea.id.in_(page_ids.scalar_subquery())).order_by(*order))
    return result.all()


async def visible_idea_ids(session: AsyncSession, category_id: int) -> list[int]:
    result = await session.exec(select(Idea.id).where(_visible_in(category_id)).order_by(Idea.id))
    return list(result.all())


async def ideas_by_ids(session: AsyncSession, idea_ids: Sequence[int]) -> list[Idea]:
    """The ideas in the order of `idea_ids` (for the shuffled list)."""
    if not idea_ids:
        return []
    found = {idea.id: idea for idea in (await session.exec(select(Idea).where(Idea.id.in_(idea_ids))))}
    return [found[idea_id] for idea_id in idea_ids if idea_id in found]


async def count_visible(session: AsyncSession, category_id: int) -> int:
    return (await session.exec(select(func.count()).select_from(Idea).where(_visible_in(category_id)))).first() or 0


async def get_idea_with_category(session: AsyncSession, idea_id: int) -> tuple[Idea, Category] | None:
    row = (
        await session.exec(
            select(Idea, Category).join(Category, Category.id == Idea.category_id).where(Idea.id == idea_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def card_rows(session: AsyncSession, idea_id: int, reader_id: int
                    ) -> tuple[Idea, Category, Campaign, bool, int | None] | None:
    """An idea with its category, its campaign, whether the reader supports it and the id of the action plan's
    commitment it fed (or None), in one query."""
    supported = and_(Vote.idea_id == Idea.id, Vote.user_id == reader_id)
    statement = (
        select(Idea, Category, Campaign, Vote.user_id, IdeaCommitment.commitment_id)
        .join(Category, Category.id == Idea.category_id)
        .join(Campaign, Campaign.id == Idea.campaign_id)
        .outerjoin(Vote, supported)
        .outerjoin(IdeaCommitment, IdeaCommitment.idea_id == Idea.id)
        .where(Idea.id == idea_id)
    )
    row = (await session.exec(statement)).first()
    return (row[0], row[1], row[2], row[3] is not None, row[4]) if row else None


@dataclass(frozen=True)
class CardParts:
    """What an idea's card shows besides its count and the reader's own support: shared by every reader and
    kept in storage/cache.py. The objects are detached copies (never a session's; on SQLite immutable records
    with the same attributes): read them, never change them. `idea.supporters_count` is as loaded: the card's
    count comes from `reader_view` or the vote."""

    idea: Idea
    category: Category
    campaign: Campaign
    commitment_id: int | None


def _card_parts_query(idea_id: int):
    return (
        select(Idea, Category, Campaign, IdeaCommitment.commitment_id)
        .options(defer(Idea.search_text))  # the card never shows it; the cache would keep a second copy
        .join(Category, Category.id == Idea.category_id)
        .join(Campaign, Campaign.id == Idea.campaign_id)
        .outerjoin(IdeaCommitment, IdeaCommitment.idea_id == Idea.id)
        .where(Idea.id == idea_id)
    )


async def _load_card_parts(session: AsyncSession, idea_id: int, detach: bool) -> CardParts | None:
    row = (await session.exec(_card_parts_query(idea_id))).first()
    if row is None:
        return None
    if detach:  # shared by later updates: must not stay this session's objects (a later write would change them)
        for obj in row[:3]:
            session.expunge(obj)
    return CardParts(row[0], row[1], row[2], row[3])


class _PlainRows:
    """A table's rows read on the driver itself as plain immutable records with the model's attribute names
    (storage/cache.py reads cards on SQLite's own connection or PostgreSQL's direct ones, without the ORM's
    bookkeeping); SQLite's values converted as SQLAlchemy converts them (0/1 to booleans, text to aware
    datetimes)."""

    def __init__(self, model: type, skip: frozenset[str] = frozenset()) -> None:
        dialect = sqlite.dialect()
        self.columns = [column for column in model.__table__.columns if column.name not in skip]
        self.names = [column.name for column in self.columns]
        self.convert = [column.type._cached_result_processor(dialect, None) for column in self.columns]
        self.record = make_dataclass(f"{model.__name__}Record", self.names, frozen=True, slots=True)

    def select_list(self) -> str:
        table = self.columns[0].table.name
        return ", ".join(f"{table}.{name}" for name in self.names)

    def make(self, values: Sequence[Any], *, as_is: bool = False) -> Any:
        """The record of SQLite's values, converted; `as_is`: of PostgreSQL's (already booleans and aware
        datetimes)."""
        if as_is:
            return self.record(*values)
        return self.record(*(value if convert is None else convert(value)
                             for convert, value in zip(self.convert, values, strict=True)))


_IDEA_ROWS = _PlainRows(Idea, frozenset({"search_text"}))
_CATEGORY_ROWS = _PlainRows(Category)
_CAMPAIGN_ROWS = _PlainRows(Campaign)
_CARD_SQL = (
    f"SELECT {_IDEA_ROWS.select_list()}, {_CATEGORY_ROWS.select_list()}, {_CAMPAIGN_ROWS.select_list()}, "
    "idea_commitment.commitment_id FROM idea JOIN category ON category.id = idea.category_id "
    "JOIN campaign ON campaign.id = idea.campaign_id "
    "LEFT OUTER JOIN idea_commitment ON idea_commitment.idea_id = idea.id WHERE idea.id = ?"
)

_CARD_PG_SQL = _CARD_SQL.replace("?", "$1::integer")


def _card_parts_from(row: Sequence[Any] | None, *, as_is: bool = False) -> CardParts | None:
    """The card of one row of _CARD_SQL (`as_is`: read on PostgreSQL, see _PlainRows.make)."""
    if row is None:
        return None
    row = tuple(row)
    ideas, categories = len(_IDEA_ROWS.names), len(_CATEGORY_ROWS.names)
    return CardParts(_IDEA_ROWS.make(row[:ideas], as_is=as_is),
                     _CATEGORY_ROWS.make(row[ideas:ideas + categories], as_is=as_is),
                     _CAMPAIGN_ROWS.make(row[ideas + categories:-1], as_is=as_is), row[-1])


async def card_parts(session: AsyncSession, idea_id: int) -> CardParts | None:
    """The idea with its category, campaign and plan link, from the cache while no write changed them."""
    caches = caches_of(session)
    if caches is None:
        return await _load_card_parts(session, idea_id, detach=False)
    reader = caches.reader

    async def load() -> CardParts | None:
        if reader is not None:
            return _card_parts_from(caches.read_now(_CARD_SQL, (idea_id,)))
        direct = direct_connections(session.bind)
        if direct is not None:
            return _card_parts_from(await direct.fetchrow(_CARD_PG_SQL, idea_id), as_is=True)
        return await _load_card_parts(session, idea_id, detach=True)

    return await caches.fetch(caches.cards, idea_id, card_keys(idea_id), load)


async def reader_view(session: AsyncSession, idea_id: int, reader_id: int) -> tuple[int, bool] | None:
    """The idea's count of supporters now and whether the reader is one of them (None: no such idea)."""
    supported = and_(Vote.idea_id == Idea.id, Vote.user_id == reader_id)
    statement = select(Idea.supporters_count, Vote.user_id).outerjoin(Vote, supported).where(Idea.id == idea_id)
    row = (await session.exec(statement)).first()
    return (row[0], row[1] is not None) if row is not None else None


async def idea_by_key(session: AsyncSession, campaign_id: int, key: str) -> Idea | None:
    return (await session.exec(select(Idea).where(Idea.campaign_id == campaign_id, Idea.key == key))).first()


def refresh_search_text(idea: Idea) -> None:
    texts = (idea.title_lv, idea.title_ru, idea.title_en, idea.body_lv, idea.body_ru, idea.body_en)
    idea.search_text = search_key(" ".join(text for text in texts if text))


async def ideas_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.exec(select(Idea.status, func.count()).group_by(Idea.status))
    return {status: count for status, count in rows.all()}


async def most_supported(session: AsyncSession, campaign_id: int, limit: int) -> list[Idea]:
    """The campaign's public ideas with at least one supporter, most supported first."""
    query = (
        select(Idea)
        .where(Idea.campaign_id == campaign_id, public_condition(), Idea.supporters_count > 0)
        .order_by(Idea.supporters_count.desc(), Idea.id)
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def most_supported_page(session: AsyncSession, campaign_id: int, offset: int, limit: int) -> list[Idea]:
    """The campaign's public ideas, most supported first (also those nobody supported yet), one page."""
    query = (select(Idea).where(Idea.campaign_id == campaign_id, public_condition())
             .order_by(Idea.supporters_count.desc(), Idea.id).offset(offset).limit(limit))
    return list((await session.exec(query)).all())


def show_supporters_count(idea: Idea, count: int) -> None:
    """Put a count just written by a vote on the loaded idea, as loaded state, not as a change: a later flush
    of this session must never write an absolute count over a concurrent vote."""
    set_committed_value(idea, "supporters_count", count)
