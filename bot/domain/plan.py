"""The action plan in one place: commitments with milestones and the ideas that fed them, what residents see
and follow, and what moderators change. No Telegram here.

Every moderator change re-checks the actor's rights from the database (buttons and commands can be forged),
and writes the audit log and, for residents' weekly news, a plan event, in the same transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import partial

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain.campaign_file import COMMITMENT_STATUSES, TITLE_MAX_CHARS, CampaignSpec, CommitmentSpec
from bot.domain.groups import groups_of_commitment
from bot.domain.lifecycle import has_rights, valid_id
from bot.domain.localized import localized_fields
from storage import campaigns as campaign_store
from storage import ideas as idea_store
from storage import plan as store
from storage.campaigns import apply_fields, create_or_update
from storage.models import LANGUAGES, Campaign, Commitment, CommitmentStatus, Idea, Milestone, PlanEventKind
from storage.moderation import add_audit

C = CommitmentStatus
# The order residents read the plan in: what is moving first, then what is agreed, drafted, finished, dropped.
STATUS_ORDER = (C.IN_PROGRESS, C.AGREED, C.DRAFTING, C.DONE, C.DROPPED)
NOTE_MAX_CHARS = 500


# ------------------------------------------------------------------ progress (pure)

@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    next_due: date | None  # the earliest milestone not done yet
    overdue: int

    @property
    def ratio(self) -> float:
        return self.done / self.total if self.total else 0.0


def progress_of(milestones: list[Milestone], today: date) -> Progress:
    open_ones = [m for m in milestones if not m.done]
    return Progress(
        done=len(milestones) - len(open_ones),
        total=len(milestones),
        next_due=min((m.due_date for m in open_ones), default=None),
        overdue=sum(1 for m in open_ones if m.due_date < today),
    )


@dataclass(frozen=True)
class CommitmentLine:
    commitment: Commitment
    progress: Progress


@dataclass(frozen=True)
class PlanOverview:
    campaign: Campaign
    by_status: list[tuple[str, list[CommitmentLine]]]  # in STATUS_ORDER, empty statuses left out

    @property
    def lines(self) -> list[CommitmentLine]:
        return [line for _status, lines in self.by_status for line in lines]


async def plan_campaign(session: AsyncSession, now: datetime) -> Campaign | None:
    """The plan shown is the one of the campaign residents see (it goes on after the voting closes)."""
    return await campaign_store.current_campaign(session, now)


async def overview(session: AsyncSession, campaign: Campaign, today: date) -> PlanOverview:
    commitments = await store.commitments_of(session, campaign.id)
    milestones = await store.milestones_of(session, [c.id for c in commitments])
    grouped = {status: [] for status in STATUS_ORDER}
    for commitment in commitments:
        grouped.setdefault(commitment.status, []).append(
            CommitmentLine(commitment, progress_of(milestones[commitment.id], today)))
    return PlanOverview(campaign, [(status, lines) for status, lines in grouped.items() if lines])


@dataclass(frozen=True)
class CommitmentCard:
    commitment: Commitment
    milestones: list[Milestone]
    progress: Progress
    ideas: list[Idea]
    following: bool
    followers: int
    groups: list = field(default_factory=list)  # working groups drafting it (bot.domain.groups)


async def commitment_card(session: AsyncSession, commitment_id: int, reader_id: int, today: date
                          ) -> CommitmentCard | None:
    if not valid_id(commitment_id):
        return None
    commitment = await store.get_commitment(session, commitment_id)
    if commitment is None:
        return None
    milestones = (await store.milestones_of(session, [commitment_id]))[commitment_id]
    return CommitmentCard(
        commitment=commitment,
        milestones=milestones,
        progress=progress_of(milestones, today),
        ideas=await store.linked_ideas(session, commitment_id),
        following=await store.is_following(session, reader_id, commitment_id),
        followers=await store.followers_count(session, commitment_id),
        groups=await groups_of_commitment(session, commitment_id),
    )


async def follow(session: AsyncSession, commitment_id: int, user_id: int, on: bool, today: date
                 ) -> CommitmentCard | None:
    """Follow or stop following; the commitment is checked again (the button may be old or forged)."""
    if await commitment_card(session, commitment_id, user_id, today) is None:
        return None
    await store.set_following(session, user_id, commitment_id, on)
    await session.commit()
    return await commitment_card(session, commitment_id, user_id, today)


async def commitment_of_idea(session: AsyncSession, idea_id: int) -> Commitment | None:
    return await store.commitment_of_idea(session, idea_id)


# ------------------------------------------------------------------ the campaign file

async def import_plan(session: AsyncSession, campaign: Campaign, spec: CampaignSpec) -> dict[str, int]:
    """Create or update the plan's commitments (matched by key) and their milestones (by position), and link
    the ideas they name. Statuses and done flags are taken from the file only when an entry is created: after
    that they are the moderators'. Returns counts for the import report. Does not commit."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for position, item in enumerate(spec.plan):
        fields = {**localized_fields("title", item.title), **localized_fields("description", item.description),
                  **localized_fields("institution", item.institution), "position": position}
        commitment, created, changed = await create_or_update(
            session, await store.commitment_by_key(session, campaign.id, item.key),
            partial(Commitment, campaign_id=campaign.id, key=item.key, status=item.status), fields)
        changed = await _import_milestones(session, commitment, item) or changed
        changed = await _import_links(session, campaign, commitment, item) or changed
        counts["created" if created else "updated" if changed else "unchanged"] += 1
    return counts


async def _import_milestones(session: AsyncSession, commitment: Commitment, item: CommitmentSpec) -> bool:
    changed = False
    for position, spec in enumerate(item.milestones):
        milestone = await store.milestone_at(session, commitment.id, position)
        fields = {**localized_fields("title", spec.title), "due_date": spec.due}
        if milestone is None:
            done = bool(spec.done)
            session.add(Milestone(commitment_id=commitment.id, position=position, done=done, note=spec.note,
                                  done_at=commitment.created_at if done else None, **fields))
            changed = True
        else:
            changed = apply_fields(milestone, fields) or changed
    return changed


async def _import_links(session: AsyncSession, campaign: Campaign, commitment: Commitment,
                        item: CommitmentSpec) -> bool:
    changed = False
    for key in item.ideas:
        idea = await idea_store.idea_by_key(session, campaign.id, key)
        current = await store.commitment_of_idea(session, idea.id)
        if current is None or current.id != commitment.id:
            await store.link_idea(session, idea.id, commitment.id)
            changed = True
    return changed


# ------------------------------------------------------------------ moderators' commands (parsing is pure)

class Outcome(StrEnum):
    DONE = "done"
    NO_RIGHTS = "no_rights"
    NOT_FOUND = "not_found"  # the commitment, milestone or idea
    UNCHANGED = "unchanged"  # already so (a second moderator, or a repeated command)
    BAD_INPUT = "bad_input"


@dataclass(frozen=True)
class PlanResult:
    outcome: Outcome
    commitment: Commitment | None = None
    milestone: Milestone | None = None
    idea: Idea | None = None


_NUMBER = re.compile(r"#?(\d{1,10})")


def parse_number(word: str | None) -> int | None:
    match = _NUMBER.fullmatch((word or "").strip())
    if match is None:
        return None
    number = int(match.group(1))
    return number if valid_id(number) else None


def parse_status(word: str | None) -> str | None:
    code = (word or "").strip().lower().replace("-", "_")
    return code if code in COMMITMENT_STATUSES else None


def parse_day(word: str | None) -> date | None:
    try:
        return date.fromisoformat((word or "").strip())
    except ValueError:
        return None


def clean_note(text: str | None) -> str | None:
    text = " ".join((text or "").split())
    return text[:NOTE_MAX_CHARS] or None


@dataclass(frozen=True)
class CommitmentFields:
    """What /commitment add or edit sets, in one language: title | institution | description."""

    language: str
    title: str | None = None
    institution: str | None = None
    description: str | None = None


def parse_fields(text: str | None, language: str) -> CommitmentFields | None:
    """"[lv|ru|en] Title | Institution | Description": the language defaults to the moderator's; empty parts
    stay as they are. None when nothing usable is given or a title is too long."""
    words = (text or "").strip().split(maxsplit=1)
    if words and words[0].lower() in LANGUAGES:
        language, text = words[0].lower(), words[1] if len(words) > 1 else ""
    parts = [" ".join(part.split()) or None for part in (text or "").split("|")] + [None, None, None]
    title, institution, description = parts[:3]
    if not any((title, institution, description)):
        return None
    if any(part and len(part) > TITLE_MAX_CHARS for part in (title, institution)):
        return None
    return CommitmentFields(language, title, institution, description)


async def add_commitment(session: AsyncSession, settings: Settings, actor_id: int, fields: CommitmentFields,
                         now: datetime) -> PlanResult:
    if not await has_rights(session, settings, actor_id):
        return PlanResult(Outcome.NO_RIGHTS)
    campaign = await plan_campaign(session, now)
    if campaign is None or not fields.title:
        return PlanResult(Outcome.BAD_INPUT)
    position = await store.next_position(session, campaign.id)
    commitment = Commitment(campaign_id=campaign.id, key=f"c{position + 1}-{int(now.timestamp())}",
                            position=position, created_at=now, **_field_values(fields))
    session.add(commitment)
    await session.flush()
    await add_audit(session, moderator_id=actor_id, action="commitment_add", now=now,
                    after={"commitment": commitment.id, **_field_values(fields)})
    await session.commit()
    return PlanResult(Outcome.DONE, commitment)


def _field_values(fields: CommitmentFields) -> dict[str, str]:
    values = {"title": fields.title, "institution": fields.institution, "description": fields.description}
    return {f"{name}_{fields.language}": value for name, value in values.items() if value}


async def edit_commitment(session: AsyncSession, settings: Settings, actor_id: int, commitment_id: int,
                          fields: CommitmentFields, now: datetime) -> PlanResult:
    if not await has_rights(session, settings, actor_id):
        return PlanResult(Outcome.NO_RIGHTS)
    commitment = await store.lock_commitment(session, commitment_id)
    if commitment is None:
        return PlanResult(Outcome.NOT_FOUND)
    values = _field_values(fields)
    before = {name: getattr(commitment, name) for name in values}
    if not apply_fields(commitment, values):
        return PlanResult(Outcome.UNCHANGED, commitment)
    await add_audit(session, moderator_id=actor_id, action="commitment_edit", now=now,
                    before={"commitment": commitment_id, **before}, after={"commitment": commitment_id, **values})
    await session.commit()
    return PlanResult(Outcome.DONE, commitment)


async def set_commitment_status(session: AsyncSession, settings: Settings, actor_id: int, commitment_id: int,
                                status: str, note: str | None, now: datetime) -> PlanResult:
    if not await has_rights(session, settings, actor_id):
        return PlanResult(Outcome.NO_RIGHTS)
    commitment = await store.lock_commitment(session, commitment_id)
    if commitment is None:
        return PlanResult(Outcome.NOT_FOUND)
    if commitment.status == status:
        return PlanResult(Outcome.UNCHANGED, commitment)
    before = commitment.status
    commitment.status, commitment.status_changed_at = status, now
    store.add_event(session, commitment_id=commitment_id, kind=PlanEventKind.STATUS, status=status, note=note,
                    now=now)
    await add_audit(session, moderator_id=actor_id, action="commitment_status", now=now,
                    before={"commitment": commitment_id, "status": before},
                    after={"commitment": commitment_id, "status": status, "note": note})
    await session.commit()
    return PlanResult(Outcome.DONE, commitment)


async def set_milestone_done(session: AsyncSession, settings: Settings, actor_id: int, milestone_id: int,
                             done: bool, note: str | None, now: datetime) -> PlanResult:
    if not await has_rights(session, settings, actor_id):
        return PlanResult(Outcome.NO_RIGHTS)
    milestone = await store.get_milestone(session, milestone_id)
    if milestone is None:
        return PlanResult(Outcome.NOT_FOUND)
    commitment = await store.lock_commitment(session, milestone.commitment_id)  # one moderator at a time
    await session.refresh(milestone)
    if milestone.done == done and (note is None or note == milestone.note):
        return PlanResult(Outcome.UNCHANGED, commitment, milestone)
    before = {"milestone": milestone_id, "done": milestone.done, "note": milestone.note}
    was_done = milestone.done
    milestone.done, milestone.done_at = done, (now if done else None)
    if note is not None:
        milestone.note = note
    if done and not was_done:
        store.add_event(session, commitment_id=commitment.id, kind=PlanEventKind.MILESTONE_DONE,
                        milestone_id=milestone_id, note=note, now=now)
    await add_audit(session, moderator_id=actor_id, action="milestone_done" if done else "milestone_undo",
                    now=now, before=before, after={"milestone": milestone_id, "done": done, "note": milestone.note})
    await session.commit()
    return PlanResult(Outcome.DONE, commitment, milestone)


async def add_milestone(session: AsyncSession, settings: Settings, actor_id: int, commitment_id: int,
                        due: date, title: str, language: str, now: datetime) -> PlanResult:
    if not await has_rights(session, settings, actor_id):
        return PlanResult(Outcome.NO_RIGHTS)
    commitment = await store.lock_commitment(session, commitment_id)
    if commitment is None:
        return PlanResult(Outcome.NOT_FOUND)
    position = len((await store.milestones_of(session, [commitment_id]))[commitment_id])
    milestone = Milestone(commitment_id=commitment_id, position=position, due_date=due,
                          **{f"title_{language}": title})
    session.add(milestone)
    await session.flush()
    await add_audit(session, moderator_id=actor_id, action="milestone_add", now=now,
                    after={"milestone": milestone.id, "commitment": commitment_id, "due": due.isoformat(),
                           f"title_{language}": title})
    await session.commit()
    return PlanResult(Outcome.DONE, commitment, milestone)


async def link(session: AsyncSession, settings: Settings, actor_id: int, idea_id: int, commitment_id: int | None,
               now: datetime) -> PlanResult:
    """Link the idea to the commitment it fed (commitment_id None: unlink)."""
    if not await has_rights(session, settings, actor_id):
        return PlanResult(Outcome.NO_RIGHTS)
    found = await idea_store.get_idea_with_category(session, idea_id)
    commitment = await store.get_commitment(session, commitment_id) if commitment_id else None
    if found is None or (commitment_id and commitment is None):
        return PlanResult(Outcome.NOT_FOUND)
    idea = found[0]
    current = await store.commitment_of_idea(session, idea_id)
    if (current.id if current else None) == commitment_id:
        return PlanResult(Outcome.UNCHANGED, commitment or current, idea=idea)
    if commitment_id:
        await store.link_idea(session, idea_id, commitment_id)
    else:
        await store.unlink_idea(session, idea_id)
    await add_audit(session, moderator_id=actor_id, action="idea_link" if commitment_id else "idea_unlink",
                    now=now, idea_id=idea_id, before={"commitment": current.id if current else None},
                    after={"commitment": commitment_id})
    await session.commit()
    return PlanResult(Outcome.DONE, commitment, idea=idea)  # no commitment: unlinked


async def moderator_overview(session: AsyncSession, settings: Settings, actor_id: int, now: datetime,
                             today: date) -> PlanOverview | None:
    if not await has_rights(session, settings, actor_id):
        return None
    campaign = await plan_campaign(session, now)
    return await overview(session, campaign, today) if campaign else None
