"""Supporting an idea and withdrawing the support: the short answer to the press (the card is browse's)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.domain.voting import VoteResult
from bot.ui.browse_screens import refusal_text


def vote_answer(result: VoteResult, adding: bool) -> str:
    """What the press tells: counted, already so, or why not (the card itself shows the new state)."""
    if result.refusal is not None:
        return refusal_text(result.refusal, result.card.campaign)
    if adding:
        return _("👍 Thank you! Your support is counted.") if result.changed else _("You already support it.")
    return _("Your support is withdrawn.") if result.changed else _("You did not support it.")
