"""Callback data: ids and short codes only (Telegram allows 64 bytes; Latvian and Cyrillic letters take 2).
Nothing here is trusted: handlers re-check the resident and the object on every press."""

from aiogram.filters.callback_data import CallbackData


class Menu(CallbackData, prefix="m"):
    to: str  # one of MENU_TARGETS


MENU_MAIN, MENU_CATEGORIES, MENU_SEARCH, MENU_LANGUAGE, MENU_HELP = "main", "cats", "search", "lang", "help"


class IdeaList(CallbackData, prefix="l"):
    cat: int
    sort: str = "top"
    page: int = 0


class IdeaAction(CallbackData, prefix="i"):
    """An idea card and what can be done on it; sort and page lead back to the same list."""

    act: str  # one of the ACT_* codes
    id: int
    part: int = 0
    sort: str = "top"
    page: int = 0


ACT_OPEN, ACT_SUPPORT, ACT_WITHDRAW, ACT_WHY_CLOSED, ACT_REPORT = "o", "s", "w", "x", "r"
# Open the card as a NEW message (from a digest, a news message or a new-idea card: those stay as they are).
ACT_OPEN_NEW = "n"


class Language(CallbackData, prefix="g"):
    code: str


class Proposal(CallbackData, prefix="p"):
    """A step of the proposal conversation; checked against the resident's saved conversation state."""

    act: str  # one of the PROPOSAL_* codes
    id: int = 0


(PROPOSAL_CATEGORY, PROPOSAL_BACK, PROPOSAL_SEND, PROPOSAL_ANYWAY, PROPOSAL_EDIT_TITLE, PROPOSAL_EDIT_BODY,
 PROPOSAL_EDIT_CATEGORY, PROPOSAL_CANCEL) = ("cat", "back", "send", "any", "et", "eb", "ec", "x")
PROPOSAL_KEEP = "keep"  # keep the current value the step shows

MENU_PROPOSE, MENU_MY_IDEAS, MENU_SUBSCRIPTIONS = "propose", "mine", "subs"


class Report(CallbackData, prefix="r"):
    id: int
    reason: str  # one of bot.domain.reports.REASONS; checked again by the domain
