"""The integrity report in words: for moderators (/integrity) and, in English, for `python -m bot integrity`.
Ideas are named by number; residents never appear (the report holds no resident ids)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal, format_percent

from bot.domain.integrity import Finding, IntegrityReport, Signal
from bot.i18n import current_language, fmt_datetime, fmt_number
from bot.ui.screens import Screen
from bot.ui.text import MESSAGE_LIMIT, escape, visible_length


def _percent(share: float) -> str:
    return format_percent(share, format="#,##0.#%", locale=current_language())


def _decimal(value: float) -> str:
    return format_decimal(round(value, 1), locale=current_language())


def signal_title(signal: Signal) -> str:
    titles = {
        "fresh_accounts": _("🆕 Supports from accounts first seen in the last 24 hours: {count}"),
        "bursts": _("⚡ Bursts: an idea's busiest ten minutes far above its own average: {count} supports"),
        "lone_supporters": _("👤 Supports from accounts that did nothing else: {count}"),
        "shared_supporters": _("🔗 Pairs of ideas supported by the same unusually large group: {count} supports"),
        "reports": _("🚩 Reports: {count}"),
    }
    return titles[signal.code].format(count=fmt_number(signal.count))


def finding_line(code: str, finding: Finding) -> str:
    ideas = " + ".join(f"#{idea}" for idea in finding.ideas)
    count = fmt_number(finding.count)
    if code == "fresh_accounts":
        text = _("{count} of its {total} supports ({share}; in the whole campaign {baseline})").format(
            count=count, total=fmt_number(finding.total), share=_percent(finding.count / finding.total),
            baseline=_percent(finding.baseline))
    elif code == "bursts":
        text = _("{count} supports in ten minutes (its average: {average})").format(
            count=count, average=_decimal(finding.baseline))
    elif code == "lone_supporters":
        text = _("{count} of its {total} supports ({share})").format(
            count=count, total=fmt_number(finding.total), share=_percent(finding.count / finding.total))
    elif code == "shared_supporters":
        text = _("{count} residents support both (chance predicts about {expected})").format(
            count=count, expected=_decimal(finding.baseline))
    else:
        text = _("{count} reports, {open} of them open").format(count=count, open=fmt_number(finding.total))
    return f"• {ideas}: {text}"


def report_text(report: IntegrityReport, per_signal: int = 10) -> str:
    """The report within one message: fewer findings per signal until it fits."""
    text = _report_text(report, per_signal)
    while per_signal > 1 and visible_length(text) > MESSAGE_LIMIT:
        per_signal -= 1
        text = _report_text(report, per_signal)
    return text


def _report_text(report: IntegrityReport, per_signal: int) -> str:
    lines = [
        _("🛡 <b>Integrity report</b> · {campaign}").format(campaign=escape(report.campaign_slug)),
        _("As of {date}; {supports} supports checked. Ideas by number, never residents.").format(
            date=fmt_datetime(report.generated_at), supports=fmt_number(report.supports)),
    ]
    for signal in report.signals:
        lines += ["", f"<b>{signal_title(signal)}</b>"]
        shown = [finding_line(signal.code, finding) for finding in signal.findings[:per_signal]]
        lines += shown or [_("• nothing unusual")]
    return "\n".join(lines)


def report_screen(report: IntegrityReport) -> Screen:
    return Screen(report_text(report))


def no_campaign() -> Screen:
    return Screen(_("There is no campaign to report on."))
