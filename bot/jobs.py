"""The scheduler's jobs, in one module: module-level coroutines that APScheduler stores by name
("bot.jobs:weekly_digest") and calls without arguments, so it never pickles a Bot or a session. What they need,
the JobContext, is registered here by the process that runs the scheduler (`set_context`, in bot/runner.py or
`python -m bot clock`); tests pass one directly.

| job                   | what it writes (rules in bot/domain, texts in bot/ui)                                    |
|-----------------------|------------------------------------------------------------------------------------------|
| `campaign_tick`       | opening and closing reminders, the results (bot/domain/campaign_events)                  |
| `weekly_digest`       | the weekly digest, once a week (bot/domain/digests)                                      |
| `personal_news`       | after the digest: what became of each resident's ideas, leaving out what the digest told |
| `new_idea_cards`      | often: one-tap cards of new ideas in chosen categories; nothing during the quiet hours   |
| `broadcast_summaries` | a finished broadcast's summary to its moderator (bot/domain/broadcasts.write_summary)    |

Each job logs and returns the number of outbox messages it wrote; bot/delivery.py sends them. Every job is
idempotent (its run is claimed in the transaction that writes its messages), so a late, repeated or concurrent
trigger writes nothing twice. `renderer` is for tests (counting renders); it defaults to the real screens."""

from __future__ import annotations

import logging

from bot.domain import broadcasts as bc
from bot.domain import campaign_events, digests, privacy
from bot.domain.outgoing import Outgoing
from bot.i18n import rendering
from bot.job_context import JobContext
from bot.ui import broadcasts_screens
from bot.ui.campaign_events_screens import CampaignEventRenderer
from bot.ui.digests_screens import DigestScreens
from storage.models import utcnow

log = logging.getLogger(__name__)

_context: JobContext | None = None


def set_context(context: JobContext | None) -> None:
    """Register (or, with None, forget) what the jobs of this process use."""
    global _context
    _context = context


def get_context() -> JobContext:
    if _context is None:
        raise RuntimeError("bot.jobs.set_context(...) was not called in this process: the jobs have no context")
    return _context


def _logged(job: str, written: int | None) -> int:
    count = int(written or 0)
    # Idle runs (every few seconds) at DEBUG, so an idle bot's INFO log stays quiet.
    log.log(logging.INFO if count else logging.DEBUG, "job %s: %d messages written", job, count)
    return count


async def campaign_tick(ctx: JobContext | None = None) -> int:
    """The campaign calendar: opening and closing reminders, the results digest."""
    ctx = ctx or get_context()
    renderer = CampaignEventRenderer(ctx.i18n, bot_username=ctx.bot_username, tz=ctx.settings.tz)
    report = await campaign_events.campaign_tick(ctx.sessions, ctx.settings, renderer, ctx.clock())
    if report.sent or report.skipped:
        log.info("campaign_tick: sent %s, skipped as stale %s", report.sent, report.skipped)
    return _logged("campaign_tick", report.written)


async def _digest_job(name: str, write, ctx: JobContext | None, renderer: digests.DigestRenderer | None,
                      *extra: object) -> int:
    """One of the digest jobs: `write(session, now, tz, quiet_hours, *extra, renderer, default_language)`."""
    ctx = ctx or get_context()
    settings = ctx.settings
    async with ctx.sessions() as session:
        written = await write(session, ctx.clock(), settings.tz, settings.quiet_hours, *extra,
                              renderer or DigestScreens(ctx.i18n, settings.tz), settings.default_language)
    return _logged(name, written)


async def weekly_digest(ctx: JobContext | None = None, *, renderer: digests.DigestRenderer | None = None) -> int:
    return await _digest_job("weekly_digest", digests.write_weekly_digest, ctx, renderer)


async def personal_news(ctx: JobContext | None = None, *, renderer: digests.DigestRenderer | None = None) -> int:
    return await _digest_job("personal_news", digests.write_personal_news, ctx, renderer)


async def new_idea_cards(ctx: JobContext | None = None, *, renderer: digests.DigestRenderer | None = None) -> int:
    cap = (ctx or get_context()).settings.max_new_idea_cards_per_day
    return await _digest_job("new_idea_cards", digests.write_new_idea_cards, ctx, renderer, cap)


async def broadcast_summaries(ctx: JobContext | None = None) -> int:
    """Write the summary of every finished broadcast whose moderator was not told yet. Safe to run twice, or in
    two processes at once: each summary is written in the transaction that sets Broadcast.summary_sent, by a
    conditional UPDATE that only one caller wins, and its outbox row has a dedupe key."""
    ctx = ctx or get_context()
    now = utcnow()  # the outbox's time: its rows are stamped with real time, not the campaign clock
    async with ctx.sessions() as session:
        finished = await bc.finished_without_summary(session, now)
        languages = {view.broadcast.id: await bc.moderator_language(session, view.broadcast.moderator_id,
                                                                      ctx.settings.default_language)
                     for view in finished}
    written = 0
    for view in finished:
        language = languages[view.broadcast.id]

        def render(current: bc.BroadcastView, language: str = language) -> Outgoing:
            with rendering(ctx.i18n, language, ctx.settings.tz):
                return broadcasts_screens.summary(current)

        async with ctx.sessions() as session:
            if await bc.write_summary(session, view.broadcast.id, render, now):
                written += 1
                log.info("broadcast %s finished: summary written for moderator %s", view.broadcast.id,
                         view.broadcast.moderator_id)
    return _logged("broadcast_summaries", written)


async def retention(ctx: JobContext | None = None) -> int:
    """Daily: delete finished outbox rows, job runs and idle conversations older than RETENTION_DAYS."""
    ctx = ctx or get_context()
    async with ctx.sessions() as session:
        counts = await privacy.prune(session, ctx.clock(), ctx.settings.retention_days)
    log.info("job retention: deleted %s", counts or "nothing (ran today already)")
    return sum((counts or {}).values())
