"""Search: the public ideas that hold every word of a query, in any of its forms or one typo away.

Query words shorter than three letters are ignored and at most eight are used (storage.word_forms). Each word
matches the index terms equal to its own term (or its Cyrillic spelling's); only a word the index does not know
is taken as a typo and matches the terms one letter away (an insertion, a deletion, a substitution or two
swapped letters). Ideas holding every word are found; if none does, those holding the most words. Order: words
found in a title, then support, then age (storage.search.ranked_ideas). No Telegram here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import OSA
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.browse import PAGE_SIZE, page_count
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


def matching_terms(alternatives: set[str], found: Iterable[tuple[str, str]]) -> set[str]:
    """The indexed terms a query word stands for, given the (key, term) rows found under its lookup keys: its
    own terms if the index knows any of them, else the terms one typo away. (So "budzeti", which is a known
    Latvian word, is not also taken for a typo of its Russian transliteration "будзети" -> "будет".)"""
    found = list(found)
    known = {indexed for _key, indexed in found}
    if alternatives & known:
        return alternatives & known
    near = set()
    for term in alternatives:
        if len(term) >= search_store.TYPO_MIN_LENGTH:
            keys = _lookup_keys(term)
            near |= {indexed for key, indexed in found if key in keys and OSA.distance(term, indexed) <= 1}
    return near


async def word_terms(session: AsyncSession, wanted: list[set[str]]) -> list[set[str]]:
    """For each query word (its alternative terms), the indexed terms it matches."""
    keys = set().union(*(_lookup_keys(term) for alternatives in wanted for term in alternatives))
    found = await search_store.terms_by_keys(session, keys)
    return [matching_terms(alternatives, found) for alternatives in wanted]


async def search(session: AsyncSession, campaign: Campaign, query: str, page: int = 0) -> SearchResult:
    query = " ".join(query.split())[:MAX_SEARCH_LENGTH]
    wanted = query_terms(query)
    if not wanted:
        return SearchResult(query, [], 0, 0, 1, too_short=True)
    page = max(page, 0)
    found = await word_terms(session, wanted)
    ids, total = await search_store.ranked_ideas(session, campaign.id, found, page * PAGE_SIZE, PAGE_SIZE)
    return SearchResult(query, await idea_store.ideas_by_ids(session, ids), total, page, page_count(total))
