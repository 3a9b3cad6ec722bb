"""Whether a notice's push reaches anyone: its topic must be one of `[pushes] topics` (checked whenever the notices
are read) and its WeChat tag one the account has (checked by `flask notices check`, which asks the platform)."""

from __future__ import annotations

import click
from flask import Flask

import notices
from bot.pushes.audience import find_topic, topics
from bot.wechat.client import get_api
from bot.wechat.errors import WeChatApiError


def topic_problem(app: Flask, audience: str) -> str | None:
    """What is wrong with a push's audience as far as the config can tell (None: fine, or not a topic)."""
    kind, _, value = audience.partition(":")
    if kind != "topic" or find_topic(app, value) is not None:
        return None
    known = "、".join(f"{name}（{key}）" for key, name in topics(app).items()) or "（还没有配置任何主题）"
    return (
        f"push 的 audience“{audience}”不是已有的订阅主题，推送不会送达任何人；"
        f"可用的主题：{known}；新主题需先加到 config.toml 的 [pushes] topics"
    )


def tag_problems(app: Flask, store: notices.NoticeStore) -> list[notices.Problem]:
    """A push to a WeChat tag the account does not have, in any notice (drafts included). The tags come from the
    platform; when it cannot be asked, a warning says that the tags were not checked."""
    wanted = [
        (notice, plan)
        for notice in [*store.all(), *store.drafts()]
        for plan in notice.push
        if plan["audience"].startswith("tag:")
    ]
    if not wanted:
        return []
    try:
        tags = get_api(app).tags()
    except WeChatApiError as exc:
        click.echo(f"警告：无法从公众号平台读取标签列表（{exc}），没有检查 tag: 受众", err=True)
        return []
    names = {str(t.get("name")) for t in tags} | {str(t.get("id")) for t in tags}
    problems = []
    for notice, plan in wanted:
        tag = plan["audience"].partition(":")[2]
        if tag not in names:
            known = "、".join(str(t.get("name")) for t in tags) or "（公众号还没有任何标签）"
            message = f"push 的 audience“{plan['audience']}”：公众号没有这个标签，推送不会送达任何人；现有标签：{known}"
            problems.append(notices.Problem(notice.path, plan.get("line", 1), message))
    return problems


def init_app(app: Flask) -> None:
    """Give the notice store the topic check and `flask notices check` the tag check."""
    store = notices.get_store(app)
    store.audience_check = lambda audience: topic_problem(app, audience)
    app.extensions.setdefault("notices_checks", []).append(lambda s: tag_problems(app, s))
