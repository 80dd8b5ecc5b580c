"""The campaign calendar: a reminder when voting opens, reminders a few days before it closes, and the results
digest when it has closed. No Telegram here: texts come from a `Renderer` (bot/ui/campaign_events_screens.py),
and messages go to the outbox, which bot/delivery.py sends.

Each event of a campaign happens once. It is a job run (storage/schedule.py) keyed by the campaign's slug:
`("opened", slug)`, `("closing_3d", slug)` (N days before the close), `("results", slug)`. The run's claim and
all of its outbox rows are written in ONE transaction, so a second tick, or a concurrent one in another
process, writes nothing, and a tick that fails before its commit leaves the event to the next tick.

Catch-up after downtime (`plan_events`): every event whose moment has passed and that was not claimed yet is
due; of a campaign's due reminders (the opening one and the closing ones) only the latest is sent, and only
while the campaign is open; the others are claimed without messages, so they are never sent late. The
results are sent once the campaign has closed, unless it closed more than `RESULTS_CATCH_UP` ago (a bot that
was off for weeks, or a campaign imported after its end): then they are claimed without messages too.

Quiet hours (settings.quiet_hours, 22-8 Riga time): an event that happens at night (a campaign opens at
00:00 and closes at 23:59) is claimed and written at once, but its messages wait in the outbox
(`not_before`) until the quiet hours end.

Moments are computed in the campaign's time zone (settings.timezone, Europe/Riga): "3 days before the close"
is the same wall-clock time three calendar days earlier, also across a daylight-saving change."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.domain.outgoing import Outgoing, Recipient, fan_out
from bot.domain.rules import Phase, campaign_phase
from storage import campaign_events as store
from storage import ideas as idea_store
from storage.campaign_events import Totals
from storage.db import SessionFactory
from storage.models import Campaign, Category, Idea
from storage.schedule import claim_run, claimed_runs

log = logging.getLogger(__name__)

# Results of a campaign that closed longer ago than this are not sent any more (see the module docstring).
RESULTS_CATCH_UP = timedelta(days=7)
TOP_IDEAS = 5  # the most supported ideas overall, in the results digest
TOP_PER_CATEGORY = 2  # and per category
CHART_IDEAS = 7  # bars of the results chart

OUTBOX_KIND_REMINDER = "reminder"
OUTBOX_KIND_RESULTS = "results"


class EventKind(StrEnum):
    OPENED = "opened"
    CLOSING = "closing"
    RESULTS = "results"


@dataclass(frozen=True)
class Event:
    kind: EventKind
    slug: str
    at: datetime  # the moment it is due
    days: int | None = None  # days before the close, for CLOSING

    @property
    def job_kind(self) -> str:
        """The JobRun kind: "opened", "closing_3d", "results" (the run key is the campaign's slug)."""
        return f"closing_{self.days}d" if self.kind is EventKind.CLOSING else self.kind.value

    @property
    def run_key(self) -> str:
        return self.slug

    @property
    def is_reminder(self) -> bool:
        return self.kind is not EventKind.RESULTS


@dataclass(frozen=True)
class Planned:
    event: Event
    send: bool  # False: claim it without messages (stale after downtime, or superseded by a later one)


def closing_moment(ends_at: datetime, days: int, tz: ZoneInfo) -> datetime:
    """`days` calendar days before the close, at the same wall-clock time in `tz`."""
    return ends_at.astimezone(tz) - timedelta(days=days)  # aware arithmetic keeps the wall-clock time


def quiet_until(now: datetime, quiet_hours: tuple[int, int], tz: ZoneInfo) -> datetime | None:
    """The end of the quiet hours (`(start, end)` hours in `tz`, e.g. 22-8) when `now` is inside them, else None."""
    start, end = quiet_hours
    if start == end:
        return None
    local = now.astimezone(tz)
    quiet = (local.hour >= start or local.hour < end) if start > end else start <= local.hour < end
    if not quiet:
        return None
    morning = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if morning <= local:  # in the evening part: the quiet hours end tomorrow
        morning = (local + timedelta(days=1)).replace(hour=end, minute=0, second=0, microsecond=0)
    return morning


def campaign_events(campaign: Campaign, reminder_days: Sequence[int], tz: ZoneInfo) -> list[Event]:
    """Every event of the campaign, in time order. A closing reminder that would come before (or at) the
    opening is left out: the opening reminder says it all."""
    events = [Event(EventKind.OPENED, campaign.slug, campaign.starts_at)]
    for days in sorted(set(reminder_days), reverse=True):
        if days <= 0:
            continue
        moment = closing_moment(campaign.ends_at, days, tz)
        if moment > campaign.starts_at:
            events.append(Event(EventKind.CLOSING, campaign.slug, moment, days))
    events.append(Event(EventKind.RESULTS, campaign.slug, campaign.ends_at))
    return sorted(events, key=lambda event: event.at)


def plan_events(campaign: Campaign, now: datetime, reminder_days: Sequence[int], tz: ZoneInfo,
                results_catch_up: timedelta = RESULTS_CATCH_UP) -> list[Planned]:
    """The events due at `now` (claimed or not: the caller skips the claimed ones), each with whether it is
    to be sent or only claimed (see the module docstring)."""
    phase = campaign_phase(campaign.starts_at, campaign.ends_at, now)
    due = [event for event in campaign_events(campaign, reminder_days, tz) if event.at <= now]
    reminders = [event for event in due if event.is_reminder]
    latest = max(reminders, key=lambda event: event.at) if reminders else None
    planned = []
    for event in due:
        if event.is_reminder:
            send = phase is Phase.OPEN and event is latest
        else:
            send = phase is Phase.CLOSED and now - campaign.ends_at <= results_catch_up
        planned.append(Planned(event, send))
    return planned


# ------------------------------------------------------------------ rendering (implemented in bot/ui)


@dataclass(frozen=True)
class Results:
    campaign: Campaign
    totals: Totals
    top: list[Idea]  # the most supported ideas overall
    categories: list[Category]  # in their order, those with public ideas
    by_category: dict[int, list[Idea]]  # category id -> its most supported ideas
    chart: list[Idea]  # the bars of the chart


class Renderer(Protocol):
    """Texts in a given language (bot.ui.campaign_events_screens.CampaignEventRenderer)."""

    def opened(self, campaign: Campaign, language: str) -> Outgoing: ...

    def closing(self, campaign: Campaign, language: str, days: int, unseen: Sequence[Category]) -> Outgoing: ...

    def results_caption(self, results: Results, language: str) -> str: ...

    def results_text(self, results: Results, language: str) -> Outgoing: ...

    def results_chart(self, results: Results, language: str, path: Path) -> None: ...


# ------------------------------------------------------------------ the tick


@dataclass
class TickReport:
    written: int = 0  # outbox rows
    sent: list[tuple[str, str]] = field(default_factory=list)  # (job kind, run key) of events with messages
    skipped: list[tuple[str, str]] = field(default_factory=list)  # claimed without messages
    failed: list[tuple[str, str]] = field(default_factory=list)  # not claimed: tried again at the next tick
    by_event: Counter[tuple[str, str]] = field(default_factory=Counter)  # rows per event


async def campaign_tick(sessions: SessionFactory, settings: Settings, renderer: Renderer, now: datetime) -> TickReport:
    """Run every due, unclaimed event of every campaign, each in its own transaction."""
    report = TickReport()
    async with sessions() as session:
        campaigns = await store.all_campaigns(session)
        plans = [(campaign, plan_events(campaign, now, settings.reminder_days, settings.tz))
                 for campaign in campaigns]
        pairs = [(item.event.job_kind, item.event.run_key) for _campaign, planned in plans for item in planned]
        done = await claimed_runs(session, pairs)
    for campaign, planned in plans:
        for item in planned:
            key = (item.event.job_kind, item.event.run_key)
            if key in done:
                continue
            try:
                written = await run_event(sessions, settings, renderer, campaign, item, now)
            except Exception:  # one broken event must not hold up the others; the next tick retries it
                log.exception("campaign %s: %s failed; the next tick tries again", campaign.slug, key[0])
                report.failed.append(key)
                continue
            if written is None:
                continue  # another tick claimed it meanwhile
            (report.sent if item.send else report.skipped).append(key)
            report.by_event[key] += written
            report.written += written
    return report


async def run_event(sessions: SessionFactory, settings: Settings, renderer: Renderer, campaign: Campaign,
                    item: Planned, now: datetime) -> int | None:
    """Claim the event and write its messages in one transaction; the number of rows written, or None when
    it had been claimed already. At night the messages wait for the morning (`quiet_until`)."""
    event = item.event
    results: Results | None = None
    charts: dict[str, Path | None] = {}
    if item.send and event.kind is EventKind.RESULTS:
        # Read and draw before the write transaction: a closed campaign's numbers no longer change, and the
        # database's writer lock (SQLite) is not held while the charts are drawn.
        async with sessions() as session:
            results = await load_results(session, campaign)
            languages = {language for _user, language in await store.results_recipients(session, campaign.id)}
        for language in sorted(languages):
            await _draw_into(charts, renderer, results, language, settings)

    async with sessions() as session:
        if not await claim_run(session, event.job_kind, event.run_key):
            await session.rollback()
            return None
        written = 0
        if item.send:
            not_before = quiet_until(now, settings.quiet_hours, settings.tz)
            if event.kind is EventKind.OPENED:
                written = await _write_opened(session, renderer, campaign, not_before)
            elif event.kind is EventKind.CLOSING:
                written = await _write_closing(session, renderer, campaign, event.days or 0, not_before)
            else:
                written = await _write_results(session, renderer, settings, results, charts, not_before)
        await session.commit()
    log.info("campaign %s: %s %s, %d messages", campaign.slug, event.job_kind,
             "sent" if item.send else "skipped (stale)", written)
    return written


async def _write_opened(session, renderer: Renderer, campaign: Campaign, not_before: datetime | None) -> int:
    recipients = [Recipient(user_id, language, f"opened:{campaign.slug}:{user_id}")
                  for user_id, language in await store.reminder_recipients(session)]
    return await fan_out(session, recipients, lambda language: renderer.opened(campaign, language),
                         kind=OUTBOX_KIND_REMINDER, batch_id=f"opened:{campaign.id}", not_before=not_before)


async def _write_closing(session, renderer: Renderer, campaign: Campaign, days: int,
                         not_before: datetime | None) -> int:
    """The closing reminder names the categories the resident has not supported an idea in yet."""
    categories = await store.categories_with_ideas(session, campaign.id)
    looked_at = await store.supported_categories(session, campaign.id)
    recipients = []
    for user_id, language in await store.reminder_recipients(session):
        seen = looked_at.get(user_id, set())
        unseen = tuple(category.id for category in categories if category.id not in seen)
        recipients.append(Recipient(user_id, (language, unseen), f"closing:{campaign.slug}:{days}:{user_id}"))

    def render(variant: tuple[str, tuple[int, ...]]) -> Outgoing:
        language, unseen = variant
        return renderer.closing(campaign, language, days, [category for category in categories
                                                           if category.id in unseen])

    return await fan_out(session, recipients, render, kind=OUTBOX_KIND_REMINDER,
                         batch_id=f"closing_{days}d:{campaign.id}", not_before=not_before)


async def load_results(session, campaign: Campaign) -> Results:
    chart_and_top = await idea_store.most_supported(session, campaign.id, max(TOP_IDEAS, CHART_IDEAS))
    return Results(
        campaign=campaign,
        totals=await store.campaign_totals(session, campaign.id),
        top=chart_and_top[:TOP_IDEAS],
        categories=await store.categories_with_ideas(session, campaign.id),
        by_category=await store.top_ideas_by_category(session, campaign.id, TOP_PER_CATEGORY),
        chart=chart_and_top[:CHART_IDEAS],
    )


def chart_path(settings: Settings, slug: str, language: str) -> Path:
    """Where the results chart of a campaign in a language is written (an absolute path: the sender may run
    in another working directory)."""
    return Path(settings.media_dir).resolve() / f"results-{slug}-{language}.png"


async def draw_chart(renderer: Renderer, results: Results, language: str, settings: Settings) -> Path:
    """Draw the chart in a thread (matplotlib takes a moment; the event loop goes on)."""
    path = chart_path(settings, results.campaign.slug, language)
    await asyncio.to_thread(renderer.results_chart, results, language, path)
    return path


async def _draw_into(charts: dict[str, Path | None], renderer: Renderer, results: Results, language: str,
                     settings: Settings) -> None:
    """Draw a language's chart; when drawing fails the results still go out, as text only (logged)."""
    try:
        charts[language] = await draw_chart(renderer, results, language, settings)
    except Exception:
        log.exception("campaign %s: the results chart in %s could not be drawn; sending the text only",
                      results.campaign.slug, language)
        charts[language] = None


async def _write_results(session, renderer: Renderer, settings: Settings, results: Results | None,
                         charts: dict[str, Path | None], not_before: datetime | None) -> int:
    """Each reader gets the chart (a photo with its caption, when it could be drawn), then the text."""
    assert results is not None
    campaign = results.campaign
    readers = await store.results_recipients(session, campaign.id)
    for language in sorted({language for _user_id, language in readers} - set(charts)):
        await _draw_into(charts, renderer, results, language, settings)  # a language nobody read a moment ago
    recipients = []
    for user_id, language in readers:
        if charts.get(language) is not None:
            recipients.append(Recipient(user_id, (language, "photo"), f"results:{campaign.slug}:{user_id}:photo"))
        recipients.append(Recipient(user_id, (language, "text"), f"results:{campaign.slug}:{user_id}:text"))

    def render(variant: tuple[str, str]) -> Outgoing:
        language, part = variant
        if part == "photo":
            return Outgoing(renderer.results_caption(results, language), photo_path=str(charts[language]))
        return renderer.results_text(results, language)

    return await fan_out(session, recipients, render, kind=OUTBOX_KIND_RESULTS, batch_id=f"results:{campaign.id}",
                         not_before=not_before)
