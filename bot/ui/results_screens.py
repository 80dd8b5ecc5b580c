"""The campaign's results as one self-contained HTML page in one language, for the organisation's site: totals,
the leading ideas overall and per category, the support chart (an inline PNG), the action plan's progress and
the working groups. Nothing is fetched from elsewhere (no fonts, scripts or images by URL); it reads well on a
phone. Every text from the campaign or residents is escaped."""

from __future__ import annotations

import base64
import tempfile
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _

from bot.domain.localized import localized
from bot.domain.results import Report
from bot.i18n import fmt_date, fmt_number, rendering
from bot.ui.campaign_events_screens import draw_results_chart
from bot.ui.groups_screens import group_status_name
from bot.ui.plan_screens import day, progress_text, status_words
from bot.ui.status_texts import status_name
from storage.models import Idea

STYLE = """
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;background:#f6f7f5;
line-height:1.45}
main{max-width:46rem;margin:0 auto;padding:1rem}
h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.25rem;margin-top:2rem;border-bottom:2px solid #1f6f43}
h3{font-size:1.05rem;margin-bottom:.3rem}
.totals{display:flex;flex-wrap:wrap;gap:.6rem;padding:0;list-style:none}
.totals li{flex:1 1 9rem;background:#fff;border-radius:.5rem;padding:.7rem;box-shadow:0 1px 2px #0002}
.totals b{display:block;font-size:1.5rem;color:#1f6f43}
ol.ideas li{margin:.4rem 0}.meta{color:#555;font-size:.9rem}
figure{margin:1rem 0}figure img{width:100%;height:auto;background:#fff;border-radius:.5rem}
.bar{background:#dfe6df;border-radius:.3rem;height:.6rem;overflow:hidden}
.bar span{display:block;height:100%;background:#1f6f43}
.commitment{background:#fff;border-radius:.5rem;padding:.7rem;margin:.6rem 0;box-shadow:0 1px 2px #0002}
footer{margin:2rem 0 1rem;color:#555;font-size:.85rem}
"""


def _text(row: object, field: str, language: str) -> str:
    return escape(localized(row, field, language).text)


def _supporters(count: int) -> str:
    return ngettext("{count} supporter", "{count} supporters", count).format(count=fmt_number(count))


def _idea_item(idea: Idea, language: str, categories: dict[int, str]) -> str:
    meta = [_supporters(idea.supporters_count), categories.get(idea.category_id, "")]
    if idea.status != "published":
        meta.append(status_name(idea.status))
    return (f"<li><strong>{_text(idea, 'title', language)}</strong><br>"
            f"<span class=\"meta\">{escape(' · '.join(part for part in meta if part))}</span></li>")


def _totals(results) -> list[tuple[int, str]]:
    totals = results.totals
    return [
        (totals.participants, ngettext("resident took part", "residents took part", totals.participants)),
        (totals.ideas, ngettext("idea", "ideas", totals.ideas)),
        (totals.votes, ngettext("support given", "supports given", totals.votes)),
    ]


def chart_png(report: Report, language: str) -> bytes:
    """The results digest's chart (the same picture residents get), as PNG bytes."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chart.png"
        draw_results_chart(report.results, language, path)
        return path.read_bytes()


def report_html(report: Report, language: str, chart: bytes) -> str:
    """The page; call inside the language's i18n context."""
    results = report.results
    campaign = results.campaign
    title = _text(campaign, "title", language)
    categories = {category.id: localized(category, "title", language).text for category in results.categories}
    labels = {
        "results": _("Results"),
        "top": _("The most supported ideas"),
        "none": _("No idea was supported in this campaign."),
        "categories": _("By category"),
        "footer": _("Published by ManaBalss together with the State Chancellery."),
        "updated": _("Updated: {date}").format(date=day(report.today)),
    }
    parts = [
        f"<!doctype html><html lang=\"{language}\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>{title} — {escape(labels['results'])}</title><style>{STYLE}</style></head><body><main>",
        f"<h1>{title}</h1>",
        f"<p class=\"meta\">{escape(fmt_date(campaign.starts_at))} – {escape(fmt_date(campaign.ends_at))}</p>",
        f"<p>{_text(campaign, 'description', language)}</p>",
        "<ul class=\"totals\">",
        *[f"<li><b>{fmt_number(count)}</b>{escape(label)}</li>" for count, label in _totals(results)],
        "</ul>",
        f"<h2>{escape(labels['top'])}</h2>",
    ]
    if results.top:
        parts.append("<ol class=\"ideas\" id=\"leading\">")
        parts += [_idea_item(idea, language, categories) for idea in results.top]
        parts.append("</ol>")
    else:
        parts.append(f"<p>{escape(labels['none'])}</p>")
    encoded = base64.b64encode(chart).decode()
    parts.append(f"<figure><img class=\"chart\" alt=\"{escape(labels['top'])}\" "
                 f"src=\"data:image/png;base64,{encoded}\"></figure>")
    if results.by_category:
        parts.append(f"<h2>{escape(labels['categories'])}</h2>")
        for category in results.categories:
            ideas = results.by_category.get(category.id, [])
            if ideas:
                parts.append(f"<h3>{_text(category, 'title', language)}</h3><ol class=\"ideas\">")
                parts += [_idea_item(idea, language, {}) for idea in ideas]
                parts.append("</ol>")
    parts += _plan_section(report, language)
    parts += _groups_section(report, language)
    parts.append(f"<footer>{escape(labels['footer'])} {escape(labels['updated'])}</footer>")
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _plan_section(report: Report, language: str) -> list[str]:
    if not report.plan.lines:
        return []
    heading = _("The action plan")
    parts = [f"<h2>{escape(heading)}</h2>"]
    for status, lines in report.plan.by_status:
        parts.append(f"<h3>{escape(status_words(status))}</h3>")
        for line in lines:
            percent = round(line.progress.ratio * 100)
            parts.append(
                f"<div class=\"commitment\"><strong>{_text(line.commitment, 'title', language)}</strong><br>"
                f"<span class=\"meta\">{_text(line.commitment, 'institution', language)} · "
                f"{escape(progress_text(line.progress))}</span>"
                f"<div class=\"bar\" role=\"img\" aria-label=\"{percent}%\"><span style=\"width:{percent}%\">"
                f"</span></div></div>")
    return parts


def _groups_section(report: Report, language: str) -> list[str]:
    if not report.groups:
        return []
    heading = _("Working groups")
    parts = [f"<h2>{escape(heading)}</h2><ul>"]
    for line in report.groups:
        members = ngettext("{count} member", "{count} members", line.approved).format(count=fmt_number(line.approved))
        parts.append(f"<li><strong>{_text(line.group, 'title', language)}</strong> · "
                     f"{escape(group_status_name(line.group.status))} · {escape(members)}</li>")
    parts.append("</ul>")
    return parts


def render_report(i18n: I18n, report: Report, language: str, tz: ZoneInfo | None = None) -> str:
    with rendering(i18n, language, tz):
        return report_html(report, language, chart_png(report, language))
