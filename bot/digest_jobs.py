"""Scheduler entry points of the weekly digest, the weekly personal news and the new-idea cards (the rules are in
bot/domain/digests.py, the texts in bot/ui/digest_screens.py).

- `weekly_digest` once a week (settings.digest_weekday at settings.digest_hour, Riga time), then
  `personal_news` (after the digest: it leaves out what the digest just told the same resident);
- `new_idea_cards` often (every 10-15 minutes): it writes nothing during the quiet hours and catches up after.

Each returns how many outbox messages it wrote; bot/delivery.py sends them. Every one is safe to run twice, or
in two processes at once. `renderer` is for tests (counting renders); it defaults to the real screens."""

from __future__ import annotations

from bot.domain import digests
from bot.job_context import JobContext
from bot.ui.digest_screens import DigestScreens


def _renderer(ctx: JobContext, renderer: digests.DigestRenderer | None) -> digests.DigestRenderer:
    return renderer if renderer is not None else DigestScreens(ctx.i18n)


async def weekly_digest(ctx: JobContext, *, renderer: digests.DigestRenderer | None = None) -> int:
    settings = ctx.settings
    async with ctx.sessions() as session:
        return await digests.write_weekly_digest(session, ctx.clock(), settings.tz, settings.quiet_hours,
                                                 _renderer(ctx, renderer), settings.default_language)


async def personal_news(ctx: JobContext, *, renderer: digests.DigestRenderer | None = None) -> int:
    settings = ctx.settings
    async with ctx.sessions() as session:
        return await digests.write_personal_news(session, ctx.clock(), settings.tz, settings.quiet_hours,
                                                 _renderer(ctx, renderer), settings.default_language)


async def new_idea_cards(ctx: JobContext, *, renderer: digests.DigestRenderer | None = None) -> int:
    settings = ctx.settings
    async with ctx.sessions() as session:
        return await digests.write_new_idea_cards(session, ctx.clock(), settings.tz, settings.quiet_hours,
                                                  settings.max_new_idea_cards_per_day, _renderer(ctx, renderer),
                                                  settings.default_language)


async def render_weekly_digest(ctx: JobContext, language: str) -> tuple[str, dict | None]:
    """This week's digest as it would go out now in `language` (for a moderator's "/digest preview"): its text
    and inline keyboard (a dict, as in the outbox). ("", None) when no digest would go out (no campaign open or
    closed within the week, or nothing new and no status change). Writes nothing."""
    language = digests.language_of(language, ctx.settings.default_language)
    async with ctx.sessions() as session:
        digest = await digests.collect_digest(session, ctx.clock(), ctx.settings.tz)
    if digest is None or digest.sections.empty:
        return "", None
    out = DigestScreens(ctx.i18n).digest(digest, language)
    return out.text, out.markup
