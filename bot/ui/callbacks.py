"""Callback data: ids and short codes only (Telegram allows 64 bytes; Latvian and Cyrillic letters take 2).
Nothing here is trusted: handlers re-check the resident and the object on every press."""

from aiogram.filters.callback_data import CallbackData

from bot.domain.ids import DbId, SmallNumber


class Menu(CallbackData, prefix="m"):
    to: str  # one of MENU_TARGETS


MENU_MAIN, MENU_CATEGORIES, MENU_SEARCH, MENU_LANGUAGE, MENU_HELP = "main", "cats", "search", "lang", "help"


class IdeaList(CallbackData, prefix="l"):
    cat: DbId
    sort: str = "top"
    page: SmallNumber = 0


class IdeaAction(CallbackData, prefix="i"):
    """An idea card and what can be done on it; sort and page lead back to the same list."""

    act: str  # one of the ACT_* codes
    id: DbId
    part: SmallNumber = 0
    sort: str = "top"
    page: SmallNumber = 0


ACT_OPEN, ACT_SUPPORT, ACT_WITHDRAW, ACT_WHY_CLOSED, ACT_REPORT = "o", "s", "w", "x", "r"
# Open the card as a NEW message (from a digest, a news message or a new-idea card: those stay as they are).
ACT_OPEN_NEW = "n"


class Language(CallbackData, prefix="g"):
    code: str


class Proposal(CallbackData, prefix="p"):
    """A step of the proposal conversation; checked against the resident's saved conversation state."""

    act: str  # one of the PROPOSAL_* codes
    id: DbId = 0


(PROPOSAL_CATEGORY, PROPOSAL_BACK, PROPOSAL_SEND, PROPOSAL_ANYWAY, PROPOSAL_EDIT_TITLE, PROPOSAL_EDIT_BODY,
 PROPOSAL_EDIT_CATEGORY, PROPOSAL_CANCEL) = ("cat", "back", "send", "any", "et", "eb", "ec", "x")
PROPOSAL_KEEP = "keep"  # keep the current value the step shows

MENU_PROPOSE, MENU_MY_IDEAS, MENU_SUBSCRIPTIONS = "propose", "mine", "subs"


class Report(CallbackData, prefix="r"):
    id: DbId
    reason: str  # one of bot.domain.reports.REASONS; checked again by the domain


# ------------------------------------------------------------------ moderators' cards

class Mod(CallbackData, prefix="md"):
    """A button on a moderation card. `v` is the idea's version the moderator saw; `r` a reason or language."""

    act: str
    id: DbId
    v: DbId = 0
    r: str = ""


MOD_CARD, MOD_PUBLISH, MOD_REJECT, MOD_REASON, MOD_TYPE_REASON = "c", "p", "r", "rr", "rt"
MOD_EDIT, MOD_EDIT_LANGUAGE, MOD_DUPLICATE = "e", "el", "d"
MOD_ACTS = frozenset({MOD_CARD, MOD_PUBLISH, MOD_REJECT, MOD_REASON, MOD_TYPE_REASON, MOD_EDIT, MOD_EDIT_LANGUAGE,
                      MOD_DUPLICATE})


class NotifyToggle(CallbackData, prefix="nt"):
    """A resident turns status notifications on (1) or off (0); src "n" = under a notification, "s" = /notifications."""

    on: SmallNumber
    src: str = "s"


# ------------------------------------------------------------------ broadcasts

class BroadcastStep(CallbackData, prefix="bc"):
    """A step of the moderator's broadcast conversation. `a`: an audience code (AUDIENCE_BUTTONS); `n`: the draft's
    nonce, so an older preview's Confirm cannot send a newer text. Checked against the conversation state."""

    act: str
    a: str = ""
    n: str = ""


class BroadcastButton(CallbackData, prefix="bcp"):
    """A button under a broadcast's progress: refresh, pause or resume broadcast `id`."""

    act: str
    id: DbId


STEP_AUDIENCE, STEP_SEND, STEP_EDIT, STEP_CANCEL = "a", "s", "e", "x"
PROGRESS_REFRESH, PROGRESS_PAUSE, PROGRESS_RESUME = "r", "p", "u"
IDEA_AUDIENCE = "idea"  # "supporters of an idea": the number is asked next


# ------------------------------------------------------------------ subscriptions

class Subs(CallbackData, prefix="sb"):
    """A subscription button: codes and ids only. `on` is the state asked for (an old button cannot flip it back)."""

    act: str  # one of the SUB_* codes
    opt: str = ""  # bot.domain.subscriptions option code, for SUB_OPTION
    on: SmallNumber = 0
    cat: DbId = 0  # a category id, for SUB_CATEGORY


SUB_HOME, SUB_OPTION, SUB_CATEGORIES, SUB_CATEGORY, SUB_STOP_DIGEST = "h", "o", "cs", "c", "ud"


class Forget(CallbackData, prefix="pv"):
    """The /forget confirmation: "y" erases, "n" keeps everything."""

    act: str


FORGET_YES, FORGET_NO = "y", "n"


# The action plan and its working groups (issue 11).
MENU_PLAN = "plan"


class Plan(CallbackData, prefix="pl"):
    act: str  # one of the PLAN_* codes
    id: int = 0


PLAN_LIST, PLAN_CARD, PLAN_FOLLOW, PLAN_UNFOLLOW = "l", "c", "f", "u"


class Group(CallbackData, prefix="wg"):
    act: str  # one of the GROUP_* codes
    id: int = 0
    arg: str = ""  # a short code (never text): how a resident joins, a moderator's decision


GROUP_CARD = "c"
(GROUP_JOIN, GROUP_CONSENT, GROUP_LEAVE, GROUP_CANCEL, GROUP_APPROVE, GROUP_DECLINE) = ("j", "k", "x", "q", "a", "d")
JOIN_PERSON, JOIN_NGO = "p", "o"
CONTACT_USERNAME, CONTACT_PHONE = "u", "t"


def pack(kind: type[CallbackData], **values: str | int) -> str:
    """`kind(**values).pack()` without building the pydantic model (a card packs seven of them on every press).
    For the bot's own values only: button data coming back is still parsed and validated by `kind.filter()`."""
    parts = [kind.__prefix__]
    for name, field in kind.model_fields.items():
        if name not in values and field.is_required():
            raise ValueError(f"{kind.__name__} needs {name}")
        parts.append(str(values[name] if name in values else field.default))
    data = kind.__separator__.join(parts)
    if not values.keys() <= kind.model_fields.keys() or len(data.encode()) > 64 or any(
            kind.__separator__ in part for part in parts[1:]):
        raise ValueError(f"cannot pack {values!r} as {kind.__name__}")
    return data
