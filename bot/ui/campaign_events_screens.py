"""Messages of the campaign calendar (bot/domain/campaign_events.py): the opening and closing reminders, and the
results digest (a bar chart with a short caption, then the full text).

Each text is rendered once per language (once per language and set of unseen categories for the closing
reminder), inside that language's i18n context: jobs run outside Telegram updates. Every campaign, category
and idea text is escaped here. Texts stay within Telegram's limits: 4096 characters, 1024 for a caption."""

from __future__ import annotations

import os
import textwrap
import uuid
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _

from bot.domain.campaign_events import Results
from bot.domain.outgoing import Outgoing
from bot.domain.rules import idea_start_payload
from bot.i18n import fmt_date, fmt_datetime, fmt_number, rendering
from bot.ui import callbacks as cb
from bot.ui.screens import ideas_count_text, supporters_text, title_of
from bot.ui.text import MESSAGE_LIMIT, escape, shorten, visible_length
from storage.models import Campaign, Category, Idea

RESULTS_TITLE_LENGTH = 120  # an idea's title in the results text


def _reminder_markup() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=_("💡 Read the ideas"), callback_data=cb.Menu(to=cb.MENU_CATEGORIES).pack()),
    ]])


def _dump(markup: InlineKeyboardMarkup | None) -> dict | None:
    return markup.model_dump(exclude_none=True) if markup is not None else None


def _reminder_footer() -> str:
    return _("🔔 You get this because you turned reminders on. You can turn them off under “Subscriptions” "
             "in the main menu.")


# ------------------------------------------------------------------ reminders


def opened_text(campaign: Campaign, language: str, tz: ZoneInfo | None = None) -> str:
    return "\n".join([
        _("🗳 <b>Voting is open: {title}</b>").format(title=escape(title_of(campaign, language))),
        "",
        _("Until {end}, read the ideas, support the ones you agree with and propose your own.").format(
            end=fmt_datetime(campaign.ends_at, tz)),
        _("📌 The most supported ideas go to the State Chancellery and experts, who use them to draft the "
          "national open government action plan."),
        "",
        _reminder_footer(),
    ])


def closing_text(campaign: Campaign, language: str, days: int, unseen: Sequence[Category],
                 tz: ZoneInfo | None = None) -> str:
    values = {"title": escape(title_of(campaign, language)), "end": fmt_datetime(campaign.ends_at, tz)}
    if days <= 1:
        # Sent the evening before, or after the quiet hours on the last day: "1 day" may read wrong, the date not.
        head = _("⏳ <b>{title}</b>: last chance! Voting closes on {end}.").format(**values)
    else:
        head = ngettext("⏳ <b>{title}</b>: voting closes in {count} day, on {end}.",
                        "⏳ <b>{title}</b>: voting closes in {count} days, on {end}.", days).format(
            count=fmt_number(days), **values)
    lines = [head, ""]
    if unseen:
        names = ", ".join(escape(title_of(category, language)) for category in unseen)
        lines.append(_("👀 Have a look here too: {categories}").format(categories=names))
    else:
        lines.append(_("✅ You have supported ideas in every category. Thank you!"))
    lines += [
        _("Every support counts: the most supported ideas go to the State Chancellery and experts for the "
          "national open government action plan."),
        "",
        _reminder_footer(),
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------ results


def _votes_text(count: int) -> str:
    return ngettext("{count} vote", "{count} votes", count).format(count=fmt_number(count))


def _participants_text(count: int) -> str:
    return ngettext("{count} participant", "{count} participants", count).format(count=fmt_number(count))


def results_caption(results: Results, language: str) -> str:
    totals = results.totals
    caption = "\n".join([
        _("📊 <b>{title}</b>: the results").format(title=escape(shorten(title_of(results.campaign, language), 300))),
        f"👥 {_participants_text(totals.participants)} · 💡 {ideas_count_text(totals.ideas)} · "
        f"👍 {_votes_text(totals.votes)}",
        _("The most supported ideas are in the chart; all the results are in the next message."),
    ])
    return caption


def _idea_line(idea: Idea, language: str, bot_username: str, prefix: str, title_length: int) -> str:
    title = escape(shorten(title_of(idea, language), title_length))
    if bot_username:
        link = f"https://t.me/{bot_username}?start={idea_start_payload(idea.id)}"
        title = f'<a href="{link}">{title}</a>'
    return f"{prefix}{title} — {supporters_text(idea.supporters_count)}"


def results_text(results: Results, language: str, bot_username: str = "", tz: ZoneInfo | None = None) -> str:
    """The full results; shortened (fewer ideas per category, shorter titles) until it fits one message."""
    for per_category, title_length, category_limit in ((2, RESULTS_TITLE_LENGTH, None), (1, RESULTS_TITLE_LENGTH, None),
                                                       (1, 60, None), (1, 40, 12), (0, 40, 0)):
        text = _results_text(results, language, bot_username, tz, per_category, title_length, category_limit)
        if visible_length(text) <= MESSAGE_LIMIT:
            return text
    return text


def _results_text(results: Results, language: str, bot_username: str, tz: ZoneInfo, per_category: int,
                  title_length: int, category_limit: int | None) -> str:
    campaign, totals = results.campaign, results.totals
    lines = [
        _("📊 <b>{title}: the results</b>").format(title=escape(title_of(campaign, language))),
        _("Voting closed on {date}. Thank you to everyone who took part!").format(date=fmt_date(campaign.ends_at, tz)),
        "",
        "👥 " + _("Participants: {count}").format(count=fmt_number(totals.participants)),
        "💡 " + _("Ideas: {count}").format(count=fmt_number(totals.ideas)),
        "👍 " + _("Votes: {count}").format(count=fmt_number(totals.votes)),
    ]
    if results.top:
        lines += ["", _("🏆 <b>The most supported ideas</b>")]
        lines += [_idea_line(idea, language, bot_username, f"{position}. ", title_length)
                  for position, idea in enumerate(results.top, start=1)]
    else:
        lines += ["", _("No idea was supported in this campaign.")]
    if per_category and results.by_category:
        shown = [category for category in results.categories if results.by_category.get(category.id)]
        if category_limit is not None:
            shown = shown[:category_limit]
        if shown:
            lines += ["", _("🏷 <b>By category</b>")]
            for category in shown:
                lines.append(f"<b>{escape(shorten(title_of(category, language), 100))}</b>")
                lines += [_idea_line(idea, language, bot_username, "• ", title_length)
                          for idea in results.by_category[category.id][:per_category]]
    lines += [
        "",
        _("📌 <b>What happens next</b>"),
        _("The State Chancellery and experts will use these results to draft the national open government action "
          "plan. We will tell you what becomes of the ideas you supported."),
        "",
        _("🛡 We checked the voting for manipulation (new accounts, sudden bursts, vote farms) and publish an "
          "integrity report for this campaign, without anyone's identity."),
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------ the chart


def _plain(text: str) -> str:
    """A text for matplotlib: a dollar sign would start its math mode."""
    return text.replace("$", r"\$")


def _chart_label(title: str, width: int = 36) -> str:
    """An idea's title under its bar: at most two lines, an ellipsis when it is cut."""
    lines = textwrap.wrap(" ".join(title.split()), width) or [""]
    if len(lines) > 2:
        lines = [lines[0], lines[1][: width - 1].rstrip() + "…"]
    return "\n".join(lines)


def draw_results_chart(results: Results, language: str, path: Path) -> None:
    """A horizontal bar chart of the leading ideas, titles in `language`, written as PNG to `path` (atomically:
    a sender reading it meanwhile sees the old file or the new one). Call inside the language's i18n context."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    ideas = list(results.chart)
    labels = [_plain(_chart_label(title_of(idea, language))) for idea in ideas]
    heading = _plain(shorten(title_of(results.campaign, language), 60)) + "\n" + _("The most supported ideas")
    height = 1.8 + 0.75 * max(len(ideas), 1)
    figure = Figure(figsize=(9, height), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if ideas:
        positions = list(range(len(ideas)))
        values = [idea.supporters_count for idea in ideas]
        bars = axes.barh(positions, values, color="#1f6f43")
        axes.set_yticks(positions, labels=labels, fontsize=9)
        axes.invert_yaxis()  # the most supported on top
        axes.bar_label(bars, labels=[fmt_number(value) for value in values], padding=3, fontsize=9)
        axes.set_xlim(0, max(values) * 1.15)
        axes.set_xlabel(_("Supporters"))
    else:
        axes.set_axis_off()
        axes.text(0.5, 0.5, _("No idea was supported in this campaign."), ha="center", va="center")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _position: fmt_number(round(value))))
    axes.set_title(heading, fontsize=12, loc="left")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    figure.savefig(temporary, format="png")
    temporary.replace(path)


# ------------------------------------------------------------------ the renderer handed to the domain


class CampaignEventRenderer:
    """bot.domain.campaign_events.Renderer: every text inside its language's i18n context."""

    def __init__(self, i18n: I18n, *, bot_username: str = "", tz: ZoneInfo | None = None) -> None:
        self.i18n = i18n
        self.bot_username = bot_username
        self.tz = tz

    def opened(self, campaign: Campaign, language: str) -> Outgoing:
        with rendering(self.i18n, language, self.tz):
            return Outgoing(opened_text(campaign, language, self.tz), _dump(_reminder_markup()))

    def closing(self, campaign: Campaign, language: str, days: int, unseen: Sequence[Category]) -> Outgoing:
        with rendering(self.i18n, language, self.tz):
            return Outgoing(closing_text(campaign, language, days, unseen, self.tz), _dump(_reminder_markup()))

    def results_caption(self, results: Results, language: str) -> str:
        with rendering(self.i18n, language, self.tz):
            return results_caption(results, language)

    def results_text(self, results: Results, language: str) -> Outgoing:
        with rendering(self.i18n, language, self.tz):
            return Outgoing(results_text(results, language, self.bot_username, self.tz))

    def results_chart(self, results: Results, language: str, path: Path) -> None:
        with rendering(self.i18n, language, self.tz):
            draw_results_chart(results, language, path)
