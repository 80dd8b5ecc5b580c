"""The integrity report of a campaign: signals of manipulated voting, each with its count and the ideas it
concerns, never a resident's id (`python -m bot integrity`, the moderators' /integrity, mentioned in the results
digest). No Telegram here.

Every signal compares an idea with a baseline, so that a popular idea is not suspicious for being popular:

- fresh accounts: supports from residents first seen in the last 24 hours; an idea is named when they are many
  and their share of its support is several times their share of all supports;
- bursts: an idea's busiest ten minutes against its own average rate since it was published;
- lone supporters: supports from residents who did nothing else (one support in total, no proposal, no report);
  an idea is named when they are most of its support;
- shared supporters: pairs of ideas supported together by far more residents than chance predicts, counted
  over residents who supported only a few ideas (a farm's accounts are such residents);
- reports: how many reports each idea received (information for moderators, not an alarm).

Thresholds are deliberately conservative: a report that cries wolf is worse than none."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain.lifecycle import has_rights
from storage import campaigns as campaign_store
from storage import integrity as store
from storage.models import Campaign

FRESH_WINDOW = timedelta(hours=24)
MIN_SUPPORTS = 20  # below this an idea's numbers say nothing
FRESH_SHARE_FACTOR = 4  # fresh accounts' share of an idea's support against their share of all supports
FRESH_MIN_SHARE = 0.25
BURST_FACTOR = 8  # the busiest ten minutes against the idea's average ten minutes
BURST_MIN_SUPPORTS = 30
LONE_MIN_SHARE = 0.5
PAIR_MAX_IDEAS = 4  # shared supporters are counted over residents who supported 2..4 ideas
PAIR_FACTOR = 5  # shared supporters against the number chance predicts
PAIR_MIN_SHARED = 30
TOP_N = 10  # ideas listed per signal


@dataclass(frozen=True)
class Finding:
    """What was found about one idea (or a pair), as numbers; bot/ui/integrity_screens.py words them."""

    ideas: tuple[int, ...]  # one idea, or a pair
    count: int  # the supports (or reports) behind the finding
    total: int | None = None  # fresh / lone: the idea's supports; reports: the open ones
    baseline: float | None = None  # fresh: the campaign's share; bursts: the idea's average; pairs: chance


@dataclass(frozen=True)
class Signal:
    code: str  # fresh_accounts, bursts, lone_supporters, shared_supporters, reports
    count: int  # the signal's total over the campaign
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class IntegrityReport:
    campaign_slug: str
    generated_at: datetime
    supports: int
    signals: list[Signal]

    @property
    def flagged_ideas(self) -> set[int]:
        """Ideas named by an alarm signal (reports are information, not an alarm)."""
        return {idea for signal in self.signals if signal.code != "reports" for finding in signal.findings
                for idea in finding.ideas}

    def as_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["generated_at"] = self.generated_at.isoformat()
        return document


def fresh_findings(per_idea: dict[int, int], fresh: dict[int, int]) -> Signal:
    total, total_fresh = sum(per_idea.values()), sum(fresh.values())
    baseline = total_fresh / total if total else 0.0
    findings = []
    for idea_id, count in fresh.items():
        share = count / per_idea[idea_id]
        if count >= MIN_SUPPORTS and share >= max(FRESH_MIN_SHARE, FRESH_SHARE_FACTOR * baseline):
            findings.append(Finding((idea_id,), count, per_idea[idea_id], baseline))
    return Signal("fresh_accounts", total_fresh, _top(findings))


def burst_findings(per_idea: dict[int, int], windows: dict[int, int], created: dict[int, datetime],
                   opened: datetime, now: datetime) -> Signal:
    """`opened`: the campaign's start (no support is older); an idea collects supports from its publication."""
    findings = []
    for idea_id, busiest in windows.items():
        since = max(created[idea_id], opened)
        windows_open = max(1.0, (now - since).total_seconds() / store.BUCKET_SECONDS)
        average = per_idea[idea_id] / windows_open
        if busiest >= BURST_MIN_SUPPORTS and busiest >= BURST_FACTOR * average:
            findings.append(Finding((idea_id,), busiest, per_idea[idea_id], average))
    return Signal("bursts", sum(finding.count for finding in findings), _top(findings))


def lone_findings(per_idea: dict[int, int], lone: dict[int, int]) -> Signal:
    findings = []
    for idea_id, count in lone.items():
        share = count / per_idea[idea_id]
        if count >= MIN_SUPPORTS and share >= LONE_MIN_SHARE:
            findings.append(Finding((idea_id,), count, per_idea[idea_id]))
    return Signal("lone_supporters", sum(lone.values()), _top(findings))


def pair_findings(groups: list[list[int]]) -> Signal:
    """Shared supporters of idea pairs against chance: with n residents, of whom a support idea A and b idea B,
    about a·b/n support both when they choose independently."""
    residents = len(groups)
    singles: Counter[int] = Counter()
    pairs: Counter[tuple[int, int]] = Counter()
    for ideas in groups:
        ideas.sort()
        singles.update(ideas)
        pairs.update(itertools.combinations(ideas, 2))
    findings = []
    for (first, second), shared in pairs.items():
        if shared < PAIR_MIN_SHARED:
            continue
        expected = singles[first] * singles[second] / residents
        if shared >= PAIR_FACTOR * max(expected, 1.0):
            findings.append(Finding((first, second), shared, baseline=expected))
    return Signal("shared_supporters", sum(finding.count for finding in findings), _top(findings))


def report_findings(reports: dict[int, tuple[int, int]]) -> Signal:
    findings = [Finding((idea_id,), total, still_open) for idea_id, (total, still_open) in reports.items()]
    return Signal("reports", sum(total for total, _open in reports.values()), _top(findings))


def _top(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda finding: (-finding.count, finding.ideas))[:TOP_N]


async def campaign_for_report(session: AsyncSession, slug: str | None, now: datetime) -> Campaign | None:
    """The campaign asked for, or the current one (an open one, else the next, else the last that closed)."""
    if slug:
        return await campaign_store.campaign_by_slug(session, slug)
    return await campaign_store.current_campaign(session, now)


async def build_report(session: AsyncSession, campaign: Campaign, now: datetime) -> IntegrityReport:
    per_idea = await store.supports_per_idea(session, campaign.id)
    signals = [
        fresh_findings(per_idea, await store.fresh_supports_per_idea(session, campaign.id, now - FRESH_WINDOW)),
        burst_findings(per_idea, await store.busiest_windows(session, campaign.id),
                       await store.ideas_created(session, campaign.id), campaign.starts_at, min(now, campaign.ends_at)),
        lone_findings(per_idea, await store.lone_supports_per_idea(session, campaign.id)),
        pair_findings(await store.narrow_voters_ideas(session, campaign.id, PAIR_MAX_IDEAS)),
        report_findings(await store.reports_per_idea(session, campaign.id)),
    ]
    return IntegrityReport(campaign.slug, now, sum(per_idea.values()), signals)


async def report_for_moderator(session: AsyncSession, settings: Settings, actor_id: int, slug: str | None,
                               now: datetime) -> IntegrityReport | bool | None:
    """/integrity: the report (None without a campaign), or False for anyone but a moderator."""
    if not await has_rights(session, settings, actor_id):
        return False
    campaign = await campaign_for_report(session, slug, now)
    return await build_report(session, campaign, now) if campaign is not None else None
