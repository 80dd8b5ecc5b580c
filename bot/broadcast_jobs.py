"""The broadcast summary job: once a broadcast's delivery is over, its moderator gets one message with how many
residents it reached, how many had blocked the bot and how many messages failed.

Scheduled every 30 s (bot/jobs.py). Safe to run twice, or in two processes at once: each summary is written in
the transaction that sets Broadcast.summary_sent, by a conditional UPDATE that only one caller wins, and its
outbox row has a dedupe key (bot.domain.broadcasts.write_summary)."""

from __future__ import annotations

import logging

from bot.domain import broadcasts as bc
from bot.job_context import JobContext
from bot.ui import broadcast_screens
from storage.models import utcnow

log = logging.getLogger(__name__)


async def broadcast_summaries(ctx: JobContext) -> int:
    """Write the summary of every finished broadcast whose moderator was not told yet; returns how many."""
    now = utcnow()  # the outbox's time: its rows are stamped with real time, not the campaign clock
    async with ctx.sessions() as session:
        finished = await bc.finished_without_summary(session, now)
        languages = {view.broadcast.id: await bc.moderator_language(session, view.broadcast.moderator_id,
                                                                      ctx.settings.default_language)
                     for view in finished}
    written = 0
    for view in finished:
        language = languages[view.broadcast.id]

        def render(current: bc.BroadcastView, language: str = language) -> tuple[str, dict | None]:
            with ctx.i18n.context(), ctx.i18n.use_locale(language):
                return broadcast_screens.summary(current)

        async with ctx.sessions() as session:
            if await bc.write_summary(session, view.broadcast.id, render, now):
                written += 1
                log.info("broadcast %s finished: summary written for moderator %s", view.broadcast.id,
                         view.broadcast.moderator_id)
    return written
