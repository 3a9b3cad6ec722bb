"""`flask pushes ...`: list, preview, run, cancel and report pushes, and sync them from the notices now."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import or_, select

from bot.db import get_db, utcnow
from bot.models import Delivery, Push
from bot.pushes import claims, report
from bot.pushes.channels import api_for, content_for, preview
from bot.pushes.dispatch import Dispatcher
from bot.pushes.schedule import local_tz, sync
from bot.pushes.settings import PushesSettings
from bot.pushes.starts import refusal
from bot.pushes.states import PUSH_STATES as STATE_NAMES

cli = AppGroup("pushes", help="Scheduled pushes: list, preview, run, cancel, report.")
OPEN_STATES = ("scheduled", "expanding", "sending", "paused")
NO_EDITORS = (
    "不知道把预览发给谁：请用 --to 指定接收预览的微信 openid，如 flask pushes preview {push_id} --to <openid>"
    "（openid 可在沙盒的聊天页或公众号后台的用户管理里查到）；"
    '或者在 config.toml 的 [pushes] editors 中填写编辑们的 openid，如 editors = ["<openid>"]，'
    "以后不加 --to 也会发给他们"
)


def _when(value) -> str:
    return report.aware(value).astimezone(local_tz(current_app)).strftime("%Y-%m-%d %H:%M")


def _line(push: Push, counts: dict[str, int] | None = None) -> str:
    state = STATE_NAMES.get(push.state, push.state)
    text = f"#{push.id:<5} {_when(push.due_at)}  {state:<5} {push.channel:<8} {push.audience:<16} {push.notice_slug}"
    if counts:
        text += "  " + " ".join(f"{k}={counts.get(k, 0)}" for k in ("sent", "skipped", "failed", "pending"))
    if push.state in ("paused", "refused", "cancelled", "failed") and push.last_error:
        text += f"  （{push.last_error}）"
    elif push.report.get("postponed_to") and push.state == "scheduled":
        text += f"  （免打扰时段，推迟到 {_when(push.run_after)}）"
    return text


def _get(session, push_id: int) -> Push:
    push = session.get(Push, push_id)
    if push is None:
        raise click.ClickException(f"没有编号为 {push_id} 的推送（flask pushes list 可查看全部）")
    return push


@cli.command("list")
@click.option("--days", default=14, show_default=True, help="How many days of finished pushes to show.")
def list_command(days: int) -> None:
    """Upcoming pushes and those of the last days, with their state."""
    since = utcnow() - timedelta(days=days)
    with get_db().scope() as s:
        stmt = select(Push).where(or_(Push.state.in_(OPEN_STATES), Push.due_at >= since)).order_by(Push.due_at)
        pushes = list(s.scalars(stmt))
        if not pushes:
            click.echo("没有已排期或近期的推送。")
        for push in pushes:
            click.echo(_line(push, None if push.state == "scheduled" else claims.counts(s, push.id)))


@cli.command("sync")
def sync_command() -> None:
    """Create and cancel pushes from the notices' front matter and [pushes] recurring now."""
    with get_db().scope() as s:
        result = sync(s, current_app, utcnow())
    click.echo(f"同步完成：新建 {result['created']} 条，取消 {result['cancelled']} 条。")


@cli.command("preview")
@click.argument("push_id", type=int)
@click.option("--to", "to", multiple=True, metavar="OPENID", help="Send the preview to this openid (repeatable).")
def preview_command(push_id: int, to: tuple[str, ...]) -> None:
    """Send the push's message to --to, else to the editors' own openids ([pushes] editors); mass sends use the
    preview API."""
    editors = list(to) or PushesSettings.of(current_app).editors
    if not editors:
        raise click.ClickException(NO_EDITORS.format(push_id=push_id))
    with get_db().scope() as s:
        push = _get(s, push_id)
        why = refusal(current_app, s, push, utcnow())
    notice = current_app.extensions.get("notices") and current_app.extensions["notices"].get(push.notice_slug)
    if notice is None:
        raise click.ClickException(why or f"公告 {push.notice_slug} 不存在")
    content, api, failures = content_for(current_app, notice), api_for(current_app), 0
    for openid in editors:
        outcome = preview(current_app, api, push.channel, openid, content)
        failures += outcome.kind != "sent"
        click.echo(f"预览 -> {openid}: {'已发送' if outcome.kind == 'sent' else outcome.why}")
    if why:
        click.echo(f"注意：到时这条推送不会发出：{why}")
    if failures:
        raise SystemExit(1)


@cli.command("run")
@click.argument("push_id", type=int)
def run_command(push_id: int) -> None:
    """Send a push now (quiet hours aside), showing progress; joins a push another sender is already working."""
    with get_db().scope() as s:
        push = _get(s, push_id)
        if push.state in ("done", "cancelled", "refused", "failed"):
            raise click.ClickException(f"推送 #{push_id} 状态为{STATE_NAMES[push.state]}，不能再发送")

    def progress(p: Push, counts: dict[str, int]) -> None:
        done = sum(counts.get(k, 0) for k in ("sent", "skipped", "failed"))
        click.echo(f"#{p.id} 进度 {done}/{sum(counts.values())}  " + " ".join(f"{k}={v}" for k, v in counts.items()))

    dispatcher = Dispatcher(current_app, progress=progress)
    dispatcher.start_due(only=push_id, force=True)
    dispatcher.work(push_id, wait_retries=True)
    with get_db().scope() as s:
        push = _get(s, push_id)
        click.echo(_line(push, claims.counts(s, push_id)))
        if push.state in ("refused", "paused", "failed"):
            raise SystemExit(1)


@cli.command("cancel")
@click.argument("push_id", type=int)
def cancel_command(push_id: int) -> None:
    """Cancel a push that has not finished; deliveries not yet sent are recorded as skipped."""
    with get_db().scope() as s:
        push = _get(s, push_id)
        if push.state not in OPEN_STATES:
            raise click.ClickException(f"推送 #{push_id} 状态为{STATE_NAMES.get(push.state, push.state)}，无需取消")
        push.state, push.last_error, push.finished_at = "cancelled", claims.CANCELLED, utcnow()
        push.report = {**push.report, "cancelled_by": "editor"}
        closed = claims.close_pending(s, push_id)
    click.echo(f"推送 #{push_id} 已取消；{closed} 位尚未发送的用户记为跳过。")


@cli.command("report")
@click.argument("push_id", type=int)
@click.option("--limit", default=20, show_default=True, help="How many skipped/failed recipients to list.")
def report_command(push_id: int, limit: int) -> None:
    """Sent / skipped / failed counts of a push, the reasons, and the recipients that were not reached."""
    with get_db().scope() as s:
        push = _get(s, push_id)
        rep = report.build(s, push)
        click.echo(_line(push))
        click.echo(f"共 {rep.total} 人：" + "，".join(f"{k} {rep.counts.get(k, 0)}" for k in report.STATES))
        for state, why, n in rep.reasons:
            click.echo(f"  {state} {n} 人：{why}")
        for send in rep.mass:
            counts = "，".join(f"{k} {v}" for k, v in send.counts.items()) or "等待平台回执"
            click.echo(f"  群发 {send.clientmsgid} msg_id={send.msg_id} {send.status}：{counts}")
        missed = select(Delivery).where(Delivery.push_id == push_id, Delivery.state.in_(("skipped", "failed")))
        for d in s.scalars(missed.order_by(Delivery.id).limit(limit)):
            click.echo(f"  {d.openid}  {d.state}  {d.error or ''}")
