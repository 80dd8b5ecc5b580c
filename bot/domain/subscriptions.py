"""What a resident subscribes to: the weekly digest, reminders, news about the ideas they proposed or support,
and new ideas in the categories they care about (one-tap vote cards). No Telegram here.

Every press is checked again here: the option is one of the known ones, a category belongs to the current
campaign. A banned resident may turn everything off (/unsubscribe works for everyone), but not turn on the
digest, reminders or category cards: they invite to vote, which a ban forbids. News about their own ideas stays
theirs to turn on and off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.lifecycle import valid_id
from storage import campaigns as campaign_store
from storage import subscriptions as store
from storage.models import Campaign, Category

DIGEST, REMINDERS, NEWS = "d", "r", "n"
# The short codes used in buttons -> the resident's columns.
OPTIONS = {DIGEST: "subscribed", REMINDERS: "reminders", NEWS: "notify_status"}
# Options a ban keeps the resident from turning on.
PARTICIPATION_OPTIONS = frozenset({DIGEST, REMINDERS})


class Outcome(StrEnum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"  # it was so already (a double tap, an old button)
    BANNED = "banned"  # a banned resident may only turn things off
    NOT_FOUND = "not_found"  # an unknown option, or a category not in the current campaign


@dataclass(frozen=True)
class Subscriptions:
    """The settings screen: every option's state, and how many of the campaign's categories are chosen."""

    digest: bool
    reminders: bool
    news: bool
    campaign: Campaign | None
    categories_chosen: int
    categories_total: int
    banned: bool = False

    def is_on(self, option: str) -> bool:
        return {DIGEST: self.digest, REMINDERS: self.reminders, NEWS: self.news}[option]


@dataclass(frozen=True)
class CategoryChoices:
    campaign: Campaign
    categories: list[tuple[Category, bool]]  # in the campaign's order, with "chosen"
    banned: bool = False


@dataclass(frozen=True)
class Unsubscribed:
    changed: bool  # anything was on before
    news_on: bool  # news about their ideas (not touched by /unsubscribe: it has its own switch)


async def subscriptions(session: AsyncSession, user_id: int, now: datetime) -> Subscriptions:
    options = await store.get_options(session, user_id)
    campaign = await campaign_store.current_campaign(session, now)
    total = chosen = 0
    if campaign is not None:
        total = len(await store.campaign_categories(session, campaign.id))
        chosen = len(await store.chosen_category_ids(session, user_id, campaign.id))
    if options is None:  # not stored (yet): as a new resident has it
        return Subscriptions(False, False, True, campaign, chosen, total)
    return Subscriptions(options.subscribed, options.reminders, options.notify_status, campaign, chosen, total,
                         options.is_banned)


@dataclass(frozen=True)
class OptionChange:
    outcome: Outcome
    state: Subscriptions  # the settings as they are now, to show


@dataclass(frozen=True)
class CategoryChange:
    outcome: Outcome
    choices: CategoryChoices | None  # None: no campaign any more


async def set_option(session: AsyncSession, user_id: int, option: str, on: bool, now: datetime) -> OptionChange:
    """Turn one option on or off (an explicit state, so an old button cannot flip it back)."""
    column = OPTIONS.get(option)
    options = await store.get_options(session, user_id)
    if column is None or options is None:
        outcome = Outcome.NOT_FOUND
    elif on and options.is_banned and option in PARTICIPATION_OPTIONS:
        outcome = Outcome.BANNED
    else:
        changed = await store.set_options(session, user_id, {column: on})
        await session.commit()
        outcome = Outcome.CHANGED if changed else Outcome.UNCHANGED
    return OptionChange(outcome, await subscriptions(session, user_id, now))


async def category_choices(session: AsyncSession, user_id: int, now: datetime) -> CategoryChoices | None:
    """The current campaign's categories, each with whether the resident chose it; None without a campaign."""
    campaign = await campaign_store.current_campaign(session, now)
    if campaign is None:
        return None
    chosen = await store.chosen_category_ids(session, user_id, campaign.id)
    categories = await store.campaign_categories(session, campaign.id)
    options = await store.get_options(session, user_id)
    return CategoryChoices(campaign, [(category, category.id in chosen) for category in categories],
                           bool(options and options.is_banned))


async def set_category(session: AsyncSession, user_id: int, category_id: int, on: bool,
                       now: datetime) -> CategoryChange:
    """Choose a category of the current campaign (or drop it): its new ideas come as one-tap vote cards."""
    campaign = await campaign_store.current_campaign(session, now)
    category = await campaign_store.get_category(session, category_id) if valid_id(category_id) else None
    options = await store.get_options(session, user_id)
    if campaign is None or category is None or category.campaign_id != campaign.id or options is None:
        outcome = Outcome.NOT_FOUND
    elif on and options.is_banned:
        outcome = Outcome.BANNED
    else:
        if on:
            changed = await store.add_interest(session, user_id, category_id)
        else:
            changed = await store.remove_interest(session, user_id, category_id)
        await session.commit()
        outcome = Outcome.CHANGED if changed else Outcome.UNCHANGED
    return CategoryChange(outcome, await category_choices(session, user_id, now))


async def unsubscribe(session: AsyncSession, user_id: int) -> Unsubscribed:
    """/unsubscribe: the weekly digest, reminders and category cards off at once (banned residents too).
    News about their own ideas keeps its own switch."""
    changed = await store.set_options(session, user_id, {"subscribed": False, "reminders": False})
    cleared = await store.clear_interests(session, user_id)
    await session.commit()
    options = await store.get_options(session, user_id)
    return Unsubscribed(changed or cleared > 0, bool(options is None or options.notify_status))


async def unsubscribe_digest(session: AsyncSession, user_id: int) -> bool:
    """The digest's own "Unsubscribe" button: only the digest. True when it was on."""
    changed = await store.set_options(session, user_id, {"subscribed": False})
    await session.commit()
    return changed


async def set_status_notifications(session: AsyncSession, user_id: int, on: bool) -> bool:
    """News about my ideas, off (the button under a notification) or on (/notifications): the same switch as the
    NEWS option. Returns whether it changed."""
    changed = await store.set_options(session, user_id, {OPTIONS[NEWS]: on})
    await session.commit()
    return changed


async def status_notifications_on(session: AsyncSession, user_id: int) -> bool:
    options = await store.get_options(session, user_id)
    return bool(options is None or options.notify_status)
