"""The search index: each idea's terms (search_term) and the typo keys of every known term (search_key).

The databases answer exact lookups only (no LIKE, no database-specific full-text search), and the ranking
orders by integers, so SQLite and PostgreSQL find the same ideas in the same order.
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Iterable, Sequence
from functools import reduce

from sqlalchemy import and_, case, delete, func, insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.ideas import public_condition
from storage.models import LANGUAGES, Idea, SearchKey, SearchTerm
from storage.sql import insert_ignoring_conflicts
from storage.word_forms import terms

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
    term_values = [{"idea_id": i, "term": t, "in_title": title} for i, t, title in postings]
    key_values = [{"key": key, "term": term} for key, term in sorted(key_rows(term for _i, term, _t in postings))]
    # A list of parameters (executemany) and not .values([...]): SQLAlchemy batches the rows itself, under each
    # database's limit of bound parameters, from one cached statement; a multi-row VALUES of thousands of rows
    # was compiled anew each time (three quarters of a campaign import's time).
    await session.exec(insert(SearchTerm), params=term_values)
    await session.exec(insert_ignoring_conflicts(session, SearchKey), params=key_values)


async def terms_by_keys(session: AsyncSession, keys: Collection[str]) -> list[tuple[str, str]]:
    """(key, term) of the indexed terms filed under any of these keys."""
    if not keys:
        return []
    return list((await session.exec(select(SearchKey.key, SearchKey.term).where(SearchKey.key.in_(keys)))).all())


def _word_hits(word_terms: Sequence[Collection[str]], in_title: bool = False):
    """How many of the query's words an idea holds (in a title only, if `in_title`): one 0/1 per word."""
    hits = []
    for alternatives in word_terms:
        holds = SearchTerm.term.in_(sorted(alternatives))
        hits.append(func.max(case((and_(SearchTerm.in_title, holds) if in_title else holds, 1), else_=0)))
    return reduce(operator.add, hits)


async def ranked_ideas(session: AsyncSession, campaign_id: int, word_terms: Sequence[Collection[str]],
                       offset: int, limit: int) -> tuple[list[int], int]:
    """Ids of the campaign's public ideas holding the most query words (each word: any of its terms), words in a
    title first, then the most supported, then the oldest; and how many such ideas there are.

    Counted and ordered by the database, so a common word does not ship thousands of rows to Python; every
    part of the order is an integer, so SQLite and PostgreSQL agree."""
    word_terms = [terms for terms in word_terms if terms]
    if not word_terms:
        return [], 0
    every_term = sorted(set().union(*word_terms))
    per_idea = (
        select(SearchTerm.idea_id, _word_hits(word_terms).label("words"),
               _word_hits(word_terms, in_title=True).label("title_words"))
        .where(SearchTerm.term.in_(every_term))
        .group_by(SearchTerm.idea_id)
        .subquery()
    )
    scored = (
        select(per_idea, Idea.supporters_count, func.max(per_idea.c.words).over().label("most_words"))
        .join(Idea, Idea.id == per_idea.c.idea_id)
        .where(Idea.campaign_id == campaign_id, public_condition())
        .subquery()
    )
    statement = (
        select(scored.c.idea_id, func.count().over())
        .where(scored.c.words == scored.c.most_words)
        .order_by(scored.c.title_words.desc(), scored.c.supporters_count.desc(), scored.c.idea_id)
        .offset(offset)
        .limit(limit)
    )
    rows = (await session.exec(statement)).all()
    return [idea_id for idea_id, _total in rows], (rows[0][1] if rows else 0)
