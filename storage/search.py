"""The search index: each idea's terms (search_term) and the typo keys of every known term (search_key).

Both databases only answer exact lookups here; matching and ranking happen in bot/domain/search.py, so
SQLite and PostgreSQL find the same ideas in the same order.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.ideas import public_condition
from storage.models import LANGUAGES, Idea, SearchKey, SearchTerm
from storage.word_forms import terms

INSERT_CHUNK = 2_000  # rows per multi-row INSERT: under both databases' limit of bound parameters
TYPO_MIN_LENGTH = 4  # a shorter term is only found exactly: one letter off "dat" is too many other words
_TEXT_COLUMNS = [getattr(Idea, f"{kind}_{lang}") for kind in ("title", "body") for lang in LANGUAGES]
_TITLES = len(LANGUAGES)


def one_letter_deletions(term: str) -> set[str]:
    if len(term) < TYPO_MIN_LENGTH:
        return set()
    return {term[:position] + term[position + 1:] for position in range(len(term))}


def term_rows(idea_id: int, texts: Sequence[str | None]) -> list[tuple[int, str, bool]]:
    """(idea_id, term, in_title) for an idea's titles and then bodies, in the order of _TEXT_COLUMNS."""
    title_terms = terms(" ".join(text for text in texts[:_TITLES] if text))
    body_terms = terms(" ".join(text for text in texts[_TITLES:] if text))
    return [(idea_id, term, term in title_terms) for term in sorted(title_terms | body_terms)]


def key_rows(known_terms: Iterable[str]) -> set[tuple[str, str]]:
    """(key, term): each term under itself and under its one-letter deletions."""
    return {(key, term) for term in known_terms for key in (term, *one_letter_deletions(term))}


async def reindex(session: AsyncSession, idea_ids: Collection[int]) -> None:
    """Rewrite the index of these ideas from their current texts (not committed: part of the caller's change)."""
    if not idea_ids:
        return
    rows = (await session.exec(select(Idea.id, *_TEXT_COLUMNS).where(Idea.id.in_(idea_ids)))).all()
    postings = [posting for idea_id, *texts in rows for posting in term_rows(idea_id, texts)]
    await session.exec(delete(SearchTerm).where(SearchTerm.idea_id.in_(idea_ids)))
    if not postings:
        return
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    term_values = [{"idea_id": i, "term": t, "in_title": title} for i, t, title in postings]
    key_values = [{"key": key, "term": term} for key, term in sorted(key_rows(term for _i, term, _t in postings))]
    for start in range(0, len(term_values), INSERT_CHUNK):
        await session.exec(dialect.insert(SearchTerm).values(term_values[start:start + INSERT_CHUNK]))
    for start in range(0, len(key_values), INSERT_CHUNK):
        statement = dialect.insert(SearchKey).values(key_values[start:start + INSERT_CHUNK])
        await session.exec(statement.on_conflict_do_nothing())


async def terms_by_keys(session: AsyncSession, keys: Collection[str]) -> list[tuple[str, str]]:
    """(key, term) of the indexed terms filed under any of these keys."""
    if not keys:
        return []
    return list((await session.exec(select(SearchKey.key, SearchKey.term).where(SearchKey.key.in_(keys)))).all())


async def postings(session: AsyncSession, campaign_id: int, wanted: Collection[str]
                   ) -> list[tuple[int, str, bool, int]]:
    """(idea_id, term, in_title, supporters_count) of the campaign's public ideas holding any of these terms."""
    if not wanted:
        return []
    statement = (
        select(SearchTerm.idea_id, SearchTerm.term, SearchTerm.in_title, Idea.supporters_count)
        .join(Idea, Idea.id == SearchTerm.idea_id)
        .where(SearchTerm.term.in_(wanted), Idea.campaign_id == campaign_id, public_condition())
    )
    return list((await session.exec(statement)).all())
