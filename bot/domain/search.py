"""Finding ideas by a few typed words, in any language, ignoring case and diacritics. No Telegram here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.browse import PAGE_SIZE, page_count
from bot.domain.rules import MAX_SEARCH_LENGTH, MIN_SEARCH_LENGTH
from storage import ideas as idea_store
from storage.models import Campaign, Idea
from storage.text import search_words


@dataclass(frozen=True)
class SearchResult:
    query: str
    ideas: list[Idea]
    total: int
    page: int
    pages: int
    too_short: bool = False


async def search(
    session: AsyncSession, campaign: Campaign, query: str, page: int = 0
) -> SearchResult:
    query = " ".join(query.split())[:MAX_SEARCH_LENGTH]
    words = search_words(query)
    if sum(len(word) for word in words) < MIN_SEARCH_LENGTH:
        return SearchResult(query, [], 0, 0, 1, too_short=True)
    page = max(page, 0)
    ideas, total = await idea_store.search_ideas(session, campaign.id, words, page * PAGE_SIZE, PAGE_SIZE)
    return SearchResult(query, ideas, total, page, page_count(total))
