"""The complaint/report dialogue: started by 投诉 / 举报 / the COMPLAIN menu, one question at a time, its state in
the database (so it survives restarts and works across processes), run as the router's interceptor."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import bindparam, select

from bot.db import aware
from bot.db.statements import Prepared, dialect_insert
from bot.dialogue import conversation, progress
from bot.dialogue.flow import Flow, discard
from bot.dialogue.settings import DialogueSettings
from bot.dialogue.steps import next_step
from bot.dialogue.texts import texts
from bot.leads.conversation import FLOW as CONVERSATION
from bot.models import DialogueState
from bot.models.followers import SET_IN_DIALOGUE
from bot.wechat.messages import Context, Reply, TextReply
from bot.wechat.router import NOT_MINE, get_router, normalise

FLOW = "lead"
START_WORDS = {
    "投诉": "complaint",
    "我要投诉": "complaint",
    "举报": "report",
    "我要举报": "report",
    "投诉举报": None,
    "我要投诉举报": None,
    "投诉/举报": None,
}
MENU_KEY = "COMPLAIN"


def init_app(app: Flask) -> None:
    """Register the interceptor (an active dialogue sees every message first), the ways to start one, and 进度."""
    texts(app)  # a broken wording file stops the start, not the first consumer
    router = get_router(app)
    router.interceptor(intercept)
    router.keyword(*START_WORDS, name="dialogue_start", priority=10)(start_by_word)
    router.keyword(r"^\s*(我要|我想)(投诉|举报)", mode="regex", name="dialogue_start_sentence", priority=10)(
        start_by_word
    )
    router.menu(MENU_KEY)(start_by_menu)
    progress.register(router)  # 进度: the consumer's own leads
    conversation.register(router)  # 补充 <编号>: add to an open lead


def _load(ctx: Context) -> DialogueState | None:
    """The sender's state row: the complaint dialogue (flow "lead") or a conversation about a lead."""
    query = select(DialogueState).where(DialogueState.openid == ctx.msg.openid)
    return ctx.session.execute(query.with_for_update()).scalar_one_or_none()


def _is_start(ctx: Context) -> bool:
    msg = ctx.msg
    if msg.type == "event":
        return msg.event == "click" and msg.key == MENU_KEY
    return normalise(msg.text) in START_WORDS


def intercept(ctx: Context) -> object:
    """Answer the message when the user is in a dialogue; NOT_MINE otherwise."""
    msg = ctx.msg
    if msg.type == "event" and not (msg.event == "click" and msg.key == MENU_KEY):
        if msg.event == "unsubscribe" and (state := _load(ctx)) is not None:
            discard(ctx, state)
        return NOT_MINE
    if ctx.in_dialogue is False:
        # The webhook's follower upsert said so: no look-up (bench/README.md, "Before and after": the follower
        # upsert returns in_dialogue).
        return NOT_MINE
    state = _load(ctx)
    if state is None:
        return NOT_MINE
    if state.flow == CONVERSATION:
        return conversation.handle(ctx, state)
    idle = DialogueSettings.of(ctx.app).idle_minutes
    if ctx.now - aware(state.updated_at) > timedelta(minutes=idle):
        discard(ctx, state)
        ctx.session.flush()
        notice = texts(ctx.app).get("control.expired", minutes=idle)
        if _is_start(ctx):
            return start(ctx, _kind_of(msg.text) if msg.type == "text" else None, before=notice)
        return TextReply(notice)
    return Flow(ctx, state).handle()


def start_by_word(ctx: Context) -> Reply:
    """投诉 or 举报 typed (alone, or as 我要投诉…): the kind is chosen already; both words: ask."""
    return start(ctx, _kind_of(ctx.msg.text))


def _kind_of(text: str) -> str | None:
    complaint, report = "投诉" in text, "举报" in text
    if complaint != report:
        return "complaint" if complaint else "report"
    return None


def start_by_menu(ctx: Context) -> Reply:
    """The COMPLAIN menu key: ask which of the two it is."""
    return start(ctx, None)


def _open_statement(dialect: str):
    table = DialogueState.__table__
    columns = ("openid", "flow", "step", "data", "history", "updated_at", "note")
    return (
        dialect_insert(dialect, table)
        .values({c: bindparam(c) for c in columns})
        .on_conflict_do_nothing(index_elements=[table.c.openid])
        .returning(table.c.openid)
    )


# Opening a dialogue is one INSERT (no savepoint, no ORM unit of work: bench/README.md) and the follower's flag.
_OPEN = Prepared(_open_statement)


def _open(ctx: Context, values: dict) -> tuple | None:
    """Insert the dialogue row and set the follower's flag, in the message's transaction; None when it existed."""
    row = ctx.run(_OPEN, **values)
    if row is not None:
        ctx.run(SET_IN_DIALOGUE, openid=values["openid"], value=True)
    return row


def start(ctx: Context, kind: str | None, before: str = "") -> Reply:
    """Open a dialogue (at the choice of kind, or past it when the word chose already)."""
    state = DialogueState(openid=ctx.msg.openid, flow=FLOW, step="kind", data="{}", history=[], updated_at=ctx.now)
    flow = Flow(ctx, state)
    intro = ""
    if kind:
        flow.data["kind"] = kind
        state.history = ["kind"]
        state.step = next_step("kind", flow.data)
        intro = texts(ctx.app).get(f"start.{kind}")
    flow.save()
    if ctx.in_dialogue is not False and (held := _load(ctx)) is not None and held.flow == CONVERSATION:
        ctx.session.delete(held)  # a new complaint ends the conversation about an older one
        ctx.session.flush()
    values = {c: getattr(state, c) for c in ("openid", "flow", "step", "data", "history", "updated_at", "note")}
    if _open(ctx, values) is None:  # a concurrent message of the same user opened it first
        state = _load(ctx)
        if state is None:
            raise RuntimeError("dialogue neither opened nor found")
        return Flow(ctx, state).ask()
    return flow.ask("\n".join(p for p in (before, intro) if p))


__all__ = ["init_app", "intercept", "start"]
