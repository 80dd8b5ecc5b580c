"""A moderator's conversation of several steps (a typed rejection reason, an edited text, a broadcast draft),
kept in the conversation state next to anything else there, e.g. a resident's proposal draft: its own states
group, its own data keys (one prefix), and a lifetime after which a forgotten step no longer swallows a later
message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Flow:
    form: type[StatesGroup]
    prefix: str  # every data key of the conversation starts with it ("mod_", "bc_")
    lifetime: timedelta
    required: str | None = None  # a data key without which the step's data is no use

    @property
    def _until(self) -> str:
        return f"{self.prefix}until"

    def owns(self, state_name: str | None) -> bool:
        return state_name is not None and state_name.startswith(f"{self.form.__name__}:")

    async def active(self, state: FSMContext) -> bool:
        return self.owns(await state.get_state())

    async def leave(self, state: FSMContext) -> None:
        """Leave the conversation (when in it) and drop its data, keeping everything else in the state."""
        data = await state.get_data()
        kept = {key: value for key, value in data.items() if not key.startswith(self.prefix)}
        if self.owns(await state.get_state()):
            await state.set_state(None)
        if len(kept) != len(data):
            await state.set_data(kept)

    async def enter(self, state: FSMContext, step: State, clock: Clock, **values: object) -> None:
        """Go to a step (values: data keys with the prefix); the lifetime starts again."""
        await state.set_state(step)
        await state.update_data(**{self._until: (clock() + self.lifetime).timestamp()}, **values)

    async def data(self, state: FSMContext, clock: Clock) -> dict | None:
        """The conversation's data, or None (and the conversation left) when the step has expired."""
        data = await state.get_data()
        expired = clock().timestamp() > float(data.get(self._until) or 0)
        if expired or (self.required is not None and not data.get(self.required)):
            await self.leave(state)
            return None
        return data
