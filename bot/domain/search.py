"""Search: the public ideas that hold every word of a query, in any of its forms or one typo away.

Query words shorter than three letters are ignored and at most eight are used (storage.word_forms). Each word
matches the index terms equal to its own term; only a word the index does not know exactly is taken as a typo
and matches the terms one letter away (an insertion, a deletion, a substitution or two swapped letters). Ideas
holding every word come first; if none does, those holding the most words. Order: words found in a title,
then support, then age (the id), so both databases give the same list.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
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


def rank(rows: Iterable[tuple[int, str, bool, int]], word_terms: list[set[str]]) -> list[int]:
    """Idea ids from (idea_id, term, in_title, supporters_count) rows, best first."""
    matched: dict[int, set[int]] = defaultdict(set)
    in_title: dict[int, set[int]] = defaultdict(set)
    support: dict[int, int] = {}
    for idea_id, term, title, supporters in rows:
        support[idea_id] = supporters
        for word, terms in enumerate(word_terms):
            if term in terms:
                matched[idea_id].add(word)
                if title:
                    in_title[idea_id].add(word)
    most = max((len(words) for words in matched.values()), default=0)
    found = [idea_id for idea_id, words in matched.items() if len(words) == most]
    return sorted(found, key=lambda idea_id: (-len(in_title[idea_id]), -support[idea_id], idea_id))


async def matching_ids(session: AsyncSession, campaign_id: int, wanted: list[set[str]]) -> list[int]:
    query_terms_all = set().union(*wanted)
    keys = set().union(*(_lookup_keys(term) for term in query_terms_all))
    found = await search_store.terms_by_keys(session, keys)
    near = {term: nearest_terms(term, found) for term in query_terms_all}
    word_terms = [set().union(*(near[term] for term in alternatives)) for alternatives in wanted]
    every_term: Collection[str] = set().union(*word_terms)
    return rank(await search_store.postings(session, campaign_id, every_term), word_terms)


async def search(session: AsyncSession, campaign: Campaign, query: str, page: int = 0) -> SearchResult:
    query = " ".join(query.split())[:MAX_SEARCH_LENGTH]
    wanted = query_terms(query)
    if not wanted:
        return SearchResult(query, [], 0, 0, 1, too_short=True)
    ranked = await matching_ids(session, campaign.id, wanted)
    pages = page_count(len(ranked))
    page = min(max(page, 0), pages - 1)
    ideas = await idea_store.ideas_by_ids(session, ranked[page * PAGE_SIZE:(page + 1) * PAGE_SIZE])
    return SearchResult(query, ideas, len(ranked), page, pages)
