"""Proposing an idea: category -> title -> text -> similar ideas -> preview -> send, with back, edit and
cancel at every step. The draft lives in the conversation state (the database or Redis), so it survives a
restart of the bot; /start and /menu leave it, only /cancel or "Cancel" discards it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.config import Settings
from bot.domain import proposals, texts
from bot.domain.moderation import Renderer
from bot.ui import callbacks as cb
from bot.ui import proposals_screens as screens
from bot.ui.respond import show
from storage.db import AsyncSession
from storage.models import User


class ProposalForm(StatesGroup):
    category = State()
    title = State()
    body = State()
    similar = State()
    preview = State()


Event = Message | CallbackQuery


async def start_proposal(event: Event, state: FSMContext, session: AsyncSession, user: User, settings: Settings,
                         clock: Callable[[], datetime]) -> None:
    gate = await proposals.proposal_gate(session, user, clock(), settings.max_pending_proposals)
    if gate.refusal is not None:
        await show(event, screens.refusal(gate.refusal, gate.campaign, settings.max_pending_proposals))
        return
    step = await state.get_state()
    key = (await state.get_data()).get(proposals.DRAFT_KEY) or proposals.new_draft_key()
    draft = await state.update_data(language=user.language, **{proposals.DRAFT_KEY: key})
    context = await proposals.draft_context(session, draft.get("category_id"), clock())
    restored = bool(draft.get("title") or draft.get("category_id"))
    await _resume(event, state, session, user, clock, draft, context, step, restored)


async def _resume(event: Event, state: FSMContext, session: AsyncSession, user: User,
                  clock: Callable[[], datetime], draft: dict, context: proposals.DraftContext,
                  step: str | None = None, restored: bool = False) -> None:
    """Continue a draft where it stopped: at the step it was on, or (after /start or /menu left the step) at
    the first thing still missing."""
    if context.category is None or step == ProposalForm.category.state:
        await state.set_state(ProposalForm.category)
        await show(event, screens.choose_category(context.categories, user.language, restored, context.category))
    elif not draft.get("title") or step == ProposalForm.title.state:
        await state.set_state(ProposalForm.title)
        await show(event, screens.ask_title(context.category, user.language, draft.get("title"), restored))
    elif not draft.get("body") or step == ProposalForm.body.state:
        await state.set_state(ProposalForm.body)
        await show(event, screens.ask_body(draft["title"], draft.get("body"), restored))
    else:
        await _texts_done(event, state, session, user, clock, draft, context)


async def _texts_done(event: Event, state: FSMContext, session: AsyncSession, user: User,
                      clock: Callable[[], datetime], draft: dict, context: proposals.DraftContext) -> None:
    """Title and text are written: similar ideas first (again after every change of the title, until the
    resident says theirs is different), then the preview."""
    if draft.get("similar_seen_title") != draft["title"]:
        similar = await proposals.similar_to_draft(session, draft, clock())
        if similar:
            await state.set_state(ProposalForm.similar)
            await show(event, screens.similar(similar, user.language))
            return
    await _show_preview(event, state, draft, context, user)


async def pick_category(query: CallbackQuery, callback_data: cb.Proposal, state: FSMContext, session: AsyncSession,
                        user: User, clock: Callable[[], datetime]) -> None:
    context = await proposals.draft_context(session, callback_data.id, clock())
    if context.category is None:
        await query.answer(screens.step_out_of_date())
        return
    draft = await state.update_data(category_id=context.category.id)
    await _resume(query, state, session, user, clock, draft, context)


async def receive_title(message: Message, state: FSMContext, session: AsyncSession, user: User,
                        clock: Callable[[], datetime]) -> None:
    checked = texts.check_title(message.text)
    if checked.problem is not None:
        await message.answer(screens.text_problem(checked, "title"))
        return
    draft = await state.update_data(title=checked.text)
    context = await proposals.draft_context(session, draft.get("category_id"), clock())
    await _resume(message, state, session, user, clock, draft, context)


async def receive_body(message: Message, state: FSMContext, session: AsyncSession, user: User,
                       clock: Callable[[], datetime]) -> None:
    checked = texts.check_body(message.text)
    if checked.problem is not None:
        await message.answer(screens.text_problem(checked, "body"))
        return
    draft = await state.update_data(body=checked.text)
    context = await proposals.draft_context(session, draft.get("category_id"), clock())
    await _resume(message, state, session, user, clock, draft, context)


async def keep_current(query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User,
                       clock: Callable[[], datetime]) -> None:
    """"Keep" on a step that shows the draft's current value: as if the resident had sent it again."""
    step = await state.get_state()
    draft = await state.get_data()
    kept = {ProposalForm.category.state: "category_id", ProposalForm.title.state: "title",
            ProposalForm.body.state: "body"}.get(step)
    if kept is None or not draft.get(kept):
        await query.answer(screens.step_out_of_date())
        return
    context = await proposals.draft_context(session, draft.get("category_id"), clock())
    await _resume(query, state, session, user, clock, draft, context)


async def continue_anyway(query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User,
                          clock: Callable[[], datetime]) -> None:
    if await state.get_state() != ProposalForm.similar.state:
        await query.answer(screens.step_out_of_date())
        return
    draft = await state.get_data()
    draft = await state.update_data(similar_seen_title=draft.get("title"))
    context = await proposals.draft_context(session, draft.get("category_id"), clock())
    await _show_preview(query, state, draft, context, user)


async def go_back(query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User,
                  clock: Callable[[], datetime]) -> None:
    current = await state.get_state()
    draft = await state.get_data()
    context = await proposals.draft_context(session, draft.get("category_id"), clock())
    if current == ProposalForm.title.state or (current and context.category is None):
        await state.set_state(ProposalForm.category)
        await show(query, screens.choose_category(context.categories, user.language, False, context.category))
    elif current == ProposalForm.body.state:
        await state.set_state(ProposalForm.title)
        await show(query, screens.ask_title(context.category, user.language, draft.get("title")))
    elif current == ProposalForm.similar.state:
        await state.set_state(ProposalForm.body)
        await show(query, screens.ask_body(draft.get("title", ""), draft.get("body")))
    else:
        await query.answer(screens.step_out_of_date())


async def edit_step(query: CallbackQuery, callback_data: cb.Proposal, state: FSMContext, session: AsyncSession,
                    user: User, clock: Callable[[], datetime]) -> None:
    if await state.get_state() != ProposalForm.preview.state:
        await query.answer(screens.step_out_of_date())
        return
    draft = await state.get_data()
    context = await proposals.draft_context(session, draft.get("category_id"), clock())
    if callback_data.act == cb.PROPOSAL_EDIT_CATEGORY or context.category is None:
        await state.set_state(ProposalForm.category)
        await show(query, screens.choose_category(context.categories, user.language, False, context.category))
    elif callback_data.act == cb.PROPOSAL_EDIT_TITLE:
        await state.set_state(ProposalForm.title)
        await show(query, screens.ask_title(context.category, user.language, draft.get("title")))
    else:
        await state.set_state(ProposalForm.body)
        await show(query, screens.ask_body(draft.get("title", ""), draft.get("body")))


async def send_proposal(query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User,
                        settings: Settings, clock: Callable[[], datetime], bot_username: str,
                        moderation_renderer: Renderer) -> None:
    if await state.get_state() != ProposalForm.preview.state:
        await query.answer(screens.step_out_of_date())
        return
    draft = await state.get_data()
    outcome = await proposals.send(session, user, draft, clock(), settings, bot_username, moderation_renderer)
    if outcome.refusal is not None:
        await show(query, screens.refusal(outcome.refusal, outcome.campaign, settings.max_pending_proposals))
        return
    if outcome.idea is None:  # the category disappeared meanwhile: choose again, the texts are kept
        context = await proposals.draft_context(session, None, clock())
        await _show_preview(query, state, draft, context, user)
        return
    await state.clear()
    await show(query, screens.submitted())


async def cancel_proposal(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await show(query, screens.cancelled())


async def not_text(message: Message) -> None:
    await message.answer(screens.send_text_please())


async def use_the_buttons(message: Message) -> None:
    await message.answer(screens.use_the_buttons())


async def my_ideas(event: Event, session: AsyncSession, user: User) -> None:
    await show(event, screens.my_ideas(await proposals.my_ideas(session, user.id), user.language))


async def _show_preview(event: Event, state: FSMContext, draft: dict, context: proposals.DraftContext,
                        user: User) -> None:
    if context.category is None:  # the category was removed meanwhile: choose again, the texts are kept
        await state.set_state(ProposalForm.category)
        await show(event, screens.choose_category(context.categories, user.language, restored=True))
        return
    await state.set_state(ProposalForm.preview)
    await show(event, screens.preview(proposals.preview_idea(draft, context, user.language), context.category,
                                      user.language))


def _not_a_command(message: Message) -> bool:
    return not (message.text or "").startswith("/")


def create_router() -> Router:
    router = Router(name="proposals")
    router.message.register(start_proposal, Command("propose"))
    router.callback_query.register(start_proposal, cb.Menu.filter(F.to == cb.MENU_PROPOSE))
    router.message.register(my_ideas, Command("myideas"))
    router.callback_query.register(my_ideas, cb.Menu.filter(F.to == cb.MENU_MY_IDEAS))
    router.callback_query.register(pick_category, cb.Proposal.filter(F.act == cb.PROPOSAL_CATEGORY),
                                   StateFilter(ProposalForm.category))
    router.callback_query.register(continue_anyway, cb.Proposal.filter(F.act == cb.PROPOSAL_ANYWAY))
    router.callback_query.register(keep_current, cb.Proposal.filter(F.act == cb.PROPOSAL_KEEP))
    router.callback_query.register(go_back, cb.Proposal.filter(F.act == cb.PROPOSAL_BACK))
    router.callback_query.register(edit_step, cb.Proposal.filter(F.act.in_({
        cb.PROPOSAL_EDIT_TITLE, cb.PROPOSAL_EDIT_BODY, cb.PROPOSAL_EDIT_CATEGORY})))
    router.callback_query.register(send_proposal, cb.Proposal.filter(F.act == cb.PROPOSAL_SEND))
    router.callback_query.register(cancel_proposal, cb.Proposal.filter(F.act == cb.PROPOSAL_CANCEL))
    router.message.register(receive_title, StateFilter(ProposalForm.title), F.text, ~F.text.startswith("/"))
    router.message.register(receive_body, StateFilter(ProposalForm.body), F.text, ~F.text.startswith("/"))
    router.message.register(not_text, StateFilter(ProposalForm.title, ProposalForm.body), ~F.text)
    router.message.register(use_the_buttons, StateFilter(ProposalForm.category, ProposalForm.similar,
                                                         ProposalForm.preview), F.func(_not_a_command))
    return router
