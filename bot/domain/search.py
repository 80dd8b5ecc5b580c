"""Search: the public ideas that hold every word of a query, in any of its forms or one typo away.

Query words shorter than three letters are ignored and at most eight are used (storage.word_forms). Each word
matches the index terms equal to its own term; only a word the index does not know exactly is taken as a typo
and matches the terms one letter away (an insertion, a deletion, a substitution or two swapped letters). Ideas
holding every word are found; if none does, those holding the most words. Order: words found in a title, then
support, then age (storage.search.ranked_ideas).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import OSA
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.ideas import PAGE_SIZE, page_count
from bot.domain.rules import MAX_SEARCH_LENGTH
from storage import ideas as idea_store
from storage import search as search_store
from storage.models import Campaign, Idea
from storage.word_forms import query_terms


@dataclass(frozen=True)
class SearchResult:
    query: str
    ideas: list[Idea]
    total: int
    page: int
    pages: int
    too_short: bool = False


def _lookup_keys(term: str) -> set[str]:
    return {term, *search_store.one_letter_deletions(term)}


def nearest_terms(term: str, found: Iterable[tuple[str, str]]) -> set[str]:
    """The indexed terms `term` stands for, given the (key, term) rows found under its lookup keys."""
    candidates = {indexed for key, indexed in found if key in _lookup_keys(term)}
    if term in candidates:
        return {term}
    if len(term) < search_store.TYPO_MIN_LENGTH:
        return set()
    return {indexed for indexed in candidates if OSA.distance(term, indexed) <= 1}


async def word_terms(session: AsyncSession, wanted: list[set[str]]) -> list[set[str]]:
    """For each query word (its alternative terms), the indexed terms it matches."""
    query_terms_all = set().union(*wanted)
    keys = set().union(*(_lookup_keys(term) for term in query_terms_all))
    found = await search_store.terms_by_keys(session, keys)
    near = {term: nearest_terms(term, found) for term in query_terms_all}
    return [set().union(*(near[term] for term in alternatives)) for alternatives in wanted]


async def search(session: AsyncSession, campaign: Campaign, query: str, page: int = 0) -> SearchResult:
    query = " ".join(query.split())[:MAX_SEARCH_LENGTH]
    wanted = query_terms(query)
    if not wanted:
        return SearchResult(query, [], 0, 0, 1, too_short=True)
    page = max(page, 0)
    found = await word_terms(session, wanted)
    ids, total = await search_store.ranked_ideas(session, campaign.id, found, page * PAGE_SIZE, PAGE_SIZE)
    return SearchResult(query, await idea_store.ideas_by_ids(session, ids), total, page, page_count(total))
