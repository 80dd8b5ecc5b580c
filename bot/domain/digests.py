"""The weekly digest, the weekly personal news and the new-idea cards: what goes to whom, and when. No Telegram
here: texts come from a `DigestRenderer` (bot/ui/digests_screens.py) and go to the outbox; bot/jobs.py
holds the scheduler's entry points.

The week. A weekly job covers the 7 days (Riga wall-clock time, so 167 or 169 hours across a DST change)
ending at the moment it runs, and is keyed by the ISO week containing that moment in Riga ("2026-W49"): a
second trigger in the same ISO week writes nothing (a JobRun claim and the outbox's dedupe keys).

The digest and personal news divide the work this way. The digest is one text per language about the campaign
(new ideas, the most supported, what became of ideas); personal news is about the ideas a resident proposed
or supports, with the moderators' notes. A resident who got this week's digest does not hear again, in their
news, about a status change the digest showed them; an empty news message is not sent.

Empty digests are skipped: a week without a new idea and without a status change sends no digest (the days
left alone are what reminders are for), but the week is still claimed, so a later trigger does not send one
mid-week. Without a campaign open or closed within the week nothing is claimed (a campaign opening later that
week still gets its digest from a later trigger)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.outgoing import Outgoing, Recipient, fan_out, language_of
from storage import digests as store
from storage import ideas as idea_store
from storage.models import VISIBLE_STATUSES, Campaign, Category, Idea, IdeaStatus, StatusChange
from storage.schedule import claim_run

S = IdeaStatus
DIGEST_JOB, NEWS_JOB = "weekly_digest", "personal_news"
DIGEST_KIND, NEWS_KIND, CARD_KIND = "digest", "news", "new_idea"

# How many ideas each section lists (the rest is counted: "…and 4 more").
NEW_LIMIT, TOP_LIMIT, CHANGED_LIMIT = 5, 5, 5
NEWS_LIMIT = 10
# Status changes worth telling everyone (publishing is "new ideas"; rejected and merged ideas are not public).
DIGEST_STATUSES = frozenset({S.UNDER_REVIEW, S.INCLUDED, S.NOT_INCLUDED, S.IMPLEMENTED})
# ... and the ones a resident hears about an idea they proposed (any) or support.
AUTHOR_NEWS_STATUSES = frozenset({S.PUBLISHED, S.REJECTED, S.UNDER_REVIEW, S.INCLUDED, S.NOT_INCLUDED,
                                  S.IMPLEMENTED, S.MERGED})
SUPPORTER_NEWS_STATUSES = frozenset({S.REJECTED, S.UNDER_REVIEW, S.INCLUDED, S.NOT_INCLUDED, S.IMPLEMENTED})
# A new-idea card is for an idea published at most this long ago (a late run still catches up, within limits).
CARD_LOOKBACK = timedelta(days=3)


# ------------------------------------------------------------------ time (pure)

def week_key(moment: datetime, tz: ZoneInfo) -> str:
    """The ISO week containing `moment` in the zone: "2026-W53" for 1 January 2027, "2027-W01" for the 4th."""
    year, week, _weekday = moment.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


def week_window(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, now): the 7 days of wall-clock time in the zone ending at `now`."""
    local = now.astimezone(tz)
    start = (local.replace(tzinfo=None) - timedelta(days=7)).replace(tzinfo=tz)
    return start.astimezone(now.tzinfo), now


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def in_quiet_hours(moment: datetime, tz: ZoneInfo, quiet_hours: tuple[int, int]) -> bool:
    """(22, 8): from 22:00 to 07:59 local time; (0, 6) within one day; equal hours: never quiet."""
    begin, end = quiet_hours
    hour = moment.astimezone(tz).hour
    if begin == end:
        return False
    if begin < end:
        return begin <= hour < end
    return hour >= begin or hour < end


def quiet_hours_end(moment: datetime, tz: ZoneInfo, quiet_hours: tuple[int, int]) -> datetime | None:
    """When the quiet hours around `moment` end (the next `end` o'clock, local time); None outside them."""
    if not in_quiet_hours(moment, tz, quiet_hours):
        return None
    local = moment.astimezone(tz)
    wake = local.replace(hour=quiet_hours[1], minute=0, second=0, microsecond=0, tzinfo=None)
    if wake <= local.replace(tzinfo=None):
        wake += timedelta(days=1)
    return wake.replace(tzinfo=tz).astimezone(moment.tzinfo)


# ------------------------------------------------------------------ the digest's sections (pure)

@dataclass(frozen=True)
class DigestItem:
    idea: Idea
    change: StatusChange | None = None  # the idea's latest status change of the week, shown with it


@dataclass(frozen=True)
class DigestSections:
    new: list[DigestItem]
    new_total: int  # new ideas of the week, listed or not
    top: list[DigestItem]
    changed: list[DigestItem]
    changed_total: int  # status changes not already shown with a new or top idea

    @property
    def items(self) -> list[DigestItem]:
        """Every listed item, in the order of the message (its buttons are numbered in this order)."""
        return [*self.new, *self.top, *self.changed]

    def listed_ids(self, limit: int) -> frozenset[int]:
        """The ideas a message with at most `limit` items per section lists."""
        return frozenset(item.idea.id for section in (self.new, self.top, self.changed) for item in section[:limit])

    @property
    def shown_change_idea_ids(self) -> set[int]:
        """Ideas whose status change of the week the digest shows."""
        return {item.idea.id for item in self.items if item.change is not None}

    @property
    def empty(self) -> bool:
        """Nothing new and no status change: no digest."""
        return self.new_total == 0 and self.changed_total == 0 and not self.shown_change_idea_ids


def select_sections(
    new: Sequence[Idea],
    top: Sequence[Idea],
    changes: Sequence[tuple[StatusChange, Idea]],
    *,
    new_limit: int = NEW_LIMIT,
    top_limit: int = TOP_LIMIT,
    changed_limit: int = CHANGED_LIMIT,
) -> DigestSections:
    """No idea is listed twice. New ideas first (newest first); then the most supported of the rest; then the
    status changes of ideas not listed yet (newest first). A listed new or top idea whose status changed this
    week shows its change where it is listed instead of a second time below."""
    change_of = {idea.id: change for change, idea in changes}
    listed: set[int] = set()

    def item(idea: Idea) -> DigestItem:
        listed.add(idea.id)
        return DigestItem(idea, change_of.get(idea.id))

    new_items = [item(idea) for idea in list(new)[:new_limit]]
    top_items = [item(idea) for idea in [idea for idea in top if idea.id not in listed][:top_limit]]
    remaining = [(change, idea) for change, idea in changes if idea.id not in listed]
    changed_items = [item(idea) for _change, idea in remaining[:changed_limit]]
    return DigestSections(new_items, len(new), top_items, changed_items, len(remaining))


@dataclass(frozen=True)
class Digest:
    campaign: Campaign
    week: str
    start: datetime
    end: datetime
    sections: DigestSections


@dataclass(frozen=True)
class NewsItem:
    idea: Idea
    change: StatusChange
    is_author: bool

    @property
    def public(self) -> bool:
        return self.idea.status in VISIBLE_STATUSES and not self.idea.hidden


@dataclass(frozen=True)
class DigestMessage:
    out: Outgoing
    listed: frozenset[int]  # the ideas it lists (as many as fit into one message)


class DigestRenderer(Protocol):
    """Implemented by bot.ui.digests_screens.DigestScreens; each method renders in its own i18n context."""

    def digest(self, digest: Digest, language: str) -> DigestMessage: ...

    def news(self, items: list[NewsItem], language: str) -> Outgoing: ...

    def new_idea_card(self, idea: Idea, category: Category, language: str) -> Outgoing: ...


# ------------------------------------------------------------------ the weekly digest

async def next_digest(session: AsyncSession, now: datetime, tz: ZoneInfo) -> Digest | None:
    """The digest as it would go out now (for a moderator's preview), or None when none would (no campaign open
    or closed within the week, or nothing new and no status change). Writes nothing."""
    digest = await collect_digest(session, now, tz)
    return None if digest is None or digest.sections.empty else digest


async def collect_digest(session: AsyncSession, now: datetime, tz: ZoneInfo) -> Digest | None:
    """This week's digest (maybe empty), or None when no campaign is open or closed within the week."""
    start, end = week_window(now, tz)
    campaign = await store.digest_campaign(session, now, start)
    if campaign is None:
        return None
    new = await store.new_ideas(session, campaign.id, start, end)
    top = await idea_store.most_supported(session, campaign.id, TOP_LIMIT + NEW_LIMIT)
    changes = [(change, idea) for change, idea in await store.latest_changes(session, start, end,
                                                                             campaign_id=campaign.id)
               if change.status in DIGEST_STATUSES and idea.status in VISIBLE_STATUSES and not idea.hidden]
    sections = select_sections(new, top, changes)
    return Digest(campaign, week_key(now, tz), start, end, sections)


async def write_weekly_digest(session: AsyncSession, now: datetime, tz: ZoneInfo, quiet_hours: tuple[int, int],
                              renderer: DigestRenderer, default_language: str = "lv") -> int:
    """Claim this week's digest and write it for every reachable subscriber, in one transaction; the text is
    rendered once per language, and the ideas it lists in each language are recorded (for the personal news).
    Returns how many messages were written (0: claimed before, or nothing to say)."""
    week = week_key(now, tz)
    if not await claim_run(session, DIGEST_JOB, week, now=now):  # first: on SQLite it takes the write lock
        await session.rollback()
        return 0
    digest = await collect_digest(session, now, tz)
    if digest is None:
        await session.rollback()  # no campaign: nothing decided, a campaign opening this week gets its digest
        return 0
    if digest.sections.empty:
        await session.commit()  # decided: no digest this week
        return 0
    recipients = [Recipient(user_id, language_of(language, default_language), f"digest:{week}:{user_id}")
                  for user_id, language in await store.digest_recipients(session)]
    messages = {language: renderer.digest(digest, language)
                for language in sorted({recipient.variant for recipient in recipients})}
    for language, message in messages.items():
        await store.record_listing(session, week, language, message.listed)
    added = await fan_out(session, recipients, lambda language: messages[language].out, kind=DIGEST_KIND,
                          batch_id=f"digest:{week}", not_before=quiet_hours_end(now, tz, quiet_hours))
    await session.commit()
    return added


# ------------------------------------------------------------------ personal news

def news_items_for(readers: Sequence[store.NewsReader], changes: dict[int, tuple[StatusChange, Idea]],
                   skip_idea_ids: set[int]) -> list[NewsItem]:
    """One resident's news: their ideas' changes (by role), minus those to skip; newest change first."""
    items = []
    for reader in readers:
        if reader.idea_id in skip_idea_ids or reader.idea_id not in changes:
            continue
        change, idea = changes[reader.idea_id]
        allowed = AUTHOR_NEWS_STATUSES if reader.is_author else SUPPORTER_NEWS_STATUSES
        if change.status in allowed:
            items.append(NewsItem(idea, change, reader.is_author))
    items.sort(key=lambda item: (item.change.created_at, item.change.id), reverse=True)
    return items


async def write_personal_news(session: AsyncSession, now: datetime, tz: ZoneInfo, quiet_hours: tuple[int, int],
                              renderer: DigestRenderer, default_language: str = "lv") -> int:
    """At most one message a week per resident: what became this week of the ideas they proposed or support
    (any campaign: an idea may be implemented long after its campaign). Meant to run after the weekly digest:
    a status change that this week's digest showed a resident is left out of their news."""
    week = week_key(now, tz)
    if not await claim_run(session, NEWS_JOB, week, now=now):
        await session.rollback()
        return 0
    start, end = week_window(now, tz)
    changes = {idea.id: (change, idea) for change, idea in await store.latest_changes(session, start, end)
               if change.status in AUTHOR_NEWS_STATUSES}
    if not changes:
        await session.commit()
        return 0
    by_user: dict[int, list[store.NewsReader]] = defaultdict(list)
    for reader in await store.news_readers(session, [idea for _change, idea in changes.values()]):
        by_user[reader.user_id].append(reader)
    languages = {user_id: language_of(readers[0].language, default_language) for user_id, readers in by_user.items()}
    shown = await _shown_in_digest(session, week, changes, languages)

    news: dict[tuple, list[NewsItem]] = {}  # residents with the same news in the same language share a text
    recipients = []
    for user_id, readers in by_user.items():
        items = news_items_for(readers, changes, shown.get(user_id, set()))
        if items:
            key = (languages[user_id], tuple((item.idea.id, item.change.id, item.is_author) for item in items))
            news[key] = items
            recipients.append(Recipient(user_id, key, f"news:{week}:{user_id}"))
    added = await fan_out(session, recipients, lambda key: renderer.news(news[key], key[0]), kind=NEWS_KIND,
                          batch_id=f"news:{week}", not_before=quiet_hours_end(now, tz, quiet_hours))
    await session.commit()
    return added


async def _shown_in_digest(session: AsyncSession, week: str, changes: dict[int, tuple[StatusChange, Idea]],
                           languages: dict[int, str]) -> dict[int, set[int]]:
    """For each resident who got this week's digest, the ideas whose current status change it showed them:
    listed in the digest of their language, and changed to a status the digest tells of before it was written."""
    written_at = await store.run_claimed_at(session, DIGEST_JOB, week)
    if written_at is None:
        return {}
    told = {idea_id for idea_id, (change, _idea) in changes.items()
            if change.status in DIGEST_STATUSES and change.created_at < written_at}
    if not told:
        return {}
    listed = await store.listed_ideas(session, week)
    readers = await store.batch_chat_ids(session, f"digest:{week}", list(languages))
    return {user_id: listed.get(languages[user_id], set()) & told for user_id in readers}


# ------------------------------------------------------------------ new-idea cards

@dataclass
class CardPlan:
    """Which cards to write now: per resident, their candidates in order, up to what today's cap leaves."""

    cap: int
    sent_today: dict[int, int] = field(default_factory=dict)
    already: set[str] = field(default_factory=set)

    def choose(self, candidates: Sequence[store.CardCandidate]) -> list[store.CardCandidate]:
        chosen = []
        counts = dict(self.sent_today)
        for candidate in candidates:
            if card_key(candidate.idea_id, candidate.user_id) in self.already:
                continue
            if counts.get(candidate.user_id, 0) >= self.cap:
                continue
            counts[candidate.user_id] = counts.get(candidate.user_id, 0) + 1
            chosen.append(candidate)
        return chosen


def card_key(idea_id: int, user_id: int) -> str:
    return f"newidea:{idea_id}:{user_id}"


def card_batch(day: date) -> str:
    """One day's cards (Riga's day): the daily cap counts the rows of this batch."""
    return f"newidea:{day.isoformat()}"


async def write_new_idea_cards(session: AsyncSession, now: datetime, tz: ZoneInfo, quiet_hours: tuple[int, int],
                               cap: int, renderer: DigestRenderer, default_language: str = "lv") -> int:
    """Each newly published idea, as a one-tap vote card, to the residents who chose its category: at most `cap`
    a resident per day, nothing during the quiet hours (the first run after them catches up). Safe to run
    often, twice, or at once in two processes: the dedupe keys keep each card single; the cards already written
    and today's counts are read in one statement (one snapshot), so a run sees another run's cards either all
    (and counts them) or none (and then, from the same state, chooses the same cards, which the keys drop)."""
    if cap <= 0 or in_quiet_hours(now, tz, quiet_hours):
        return 0
    since = now - CARD_LOOKBACK
    candidates = await store.card_candidates(session, now, since)
    if not candidates:
        return 0
    today = local_day(now, tz)
    days = [local_day(since, tz) + timedelta(days=offset) for offset in range((today - local_day(since, tz)).days + 1)]
    plan = CardPlan(cap)
    for chat_id, key, batch in await store.batch_messages(session, [card_batch(day) for day in days]):
        plan.already.add(key)
        if batch == card_batch(today):
            plan.sent_today[chat_id] = plan.sent_today.get(chat_id, 0) + 1
    chosen = plan.choose(candidates)
    if not chosen:
        return 0
    ideas = await store.ideas_with_categories(session, [candidate.idea_id for candidate in chosen])
    recipients = [Recipient(candidate.user_id, (candidate.idea_id, language_of(candidate.language, default_language)),
                            card_key(candidate.idea_id, candidate.user_id)) for candidate in chosen]
    added = await fan_out(session, recipients,
                          lambda variant: renderer.new_idea_card(*ideas[variant[0]], variant[1]),
                          kind=CARD_KIND, batch_id=card_batch(today))
    await session.commit()
    return added
