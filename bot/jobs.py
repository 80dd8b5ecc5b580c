"""The scheduler's job entry points: module-level coroutines without arguments, so that APScheduler stores them
by name ("bot.jobs:campaign_tick") and never pickles a Bot or a session. What they need, the JobContext, is
registered here by the process that runs the scheduler (`set_context`, in bot/runner.py or `python -m bot
clock`).

Each entry point opens its sessions through the context, calls the domain, logs and returns the number of
outbox messages it wrote. Every job is idempotent (its run is claimed in the transaction that writes its
messages), so a late, repeated or concurrent trigger writes nothing twice. The digest and broadcast modules
are imported inside their jobs: this module imports fine without them."""

from __future__ import annotations

import logging

from bot.job_context import JobContext

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


async def campaign_tick() -> int:
    """The campaign calendar: opening and closing reminders, the results digest (bot/domain/campaign_events)."""
    from bot.domain.campaign_events import campaign_tick as tick
    from bot.ui.campaign_event_screens import CampaignEventRenderer

    context = get_context()
    renderer = CampaignEventRenderer(context.i18n, bot_username=context.bot_username, tz=context.settings.tz)
    report = await tick(context.sessions, context.settings, renderer, context.clock())
    if report.sent or report.skipped:
        log.info("campaign_tick: sent %s, skipped as stale %s", report.sent, report.skipped)
    return _logged("campaign_tick", report.written)


async def weekly_digest() -> int:
    from bot import digest_jobs

    return _logged("weekly_digest", await digest_jobs.weekly_digest(get_context()))


async def personal_news() -> int:
    from bot import digest_jobs

    return _logged("personal_news", await digest_jobs.personal_news(get_context()))


async def new_idea_cards() -> int:
    from bot import digest_jobs

    return _logged("new_idea_cards", await digest_jobs.new_idea_cards(get_context()))


async def broadcast_summaries() -> int:
    from bot import broadcast_jobs

    return _logged("broadcast_summaries", await broadcast_jobs.broadcast_summaries(get_context()))
