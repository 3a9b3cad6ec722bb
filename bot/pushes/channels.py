"""The three ways a push reaches people, over the WeChat API client, and what each platform answer means."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import Flask

from bot.config import AppSettings
from bot.pushes.settings import PushesSettings
from bot.wechat import errors
from bot.wechat.client import get_api

# errcodes with a meaning for a push (the platform's global return codes)
UNSUBSCRIBED, OUTSIDE_WINDOW, QUOTA, CLIENTMSGID_EXISTS = 43004, 45015, 45009, 45065
UNSUBSCRIBED_WHY = "用户已取消关注（43004），已将其标记为未关注"
WINDOW_WHY = "用户 48 小时内未互动，平台拒绝客服消息（45015）"
QUOTA_WHY = "接口调用次数已达上限（45009），推送暂停，稍后自动继续"
TOKEN_WHY = "access_token 无效，刷新后仍失败（{code}），推送暂停，稍后自动继续"


@dataclass(frozen=True)
class Content:
    """What a push says, taken once from its notice."""

    slug: str
    title: str
    summary: str
    url: str
    image: str
    fields: dict[str, str]  # template data: field -> value


@dataclass(frozen=True)
class Outcome:
    """The result of one send: sent | skipped | retry | failed | pause; `why` is shown in the report."""

    kind: str
    why: str | None = None
    msgid: str | None = None
    unsubscribed: bool = False


def content_for(app: Flask, notice: Any) -> Content:
    """The message parts of a notice: title, summary, its public page, its cover and the template fields."""
    public = AppSettings.of(app).public_url.rstrip("/")
    cover = getattr(notice, "cover", None)
    values = {
        "title": notice.title,
        "summary": getattr(notice, "summary", "") or "",
        "category": getattr(notice, "category", "") or "",
        "date": str(getattr(notice, "date", "") or ""),
    }
    fields = {field: values.get(attr, str(attr)) for field, attr in _template_fields(app).items()}
    return Content(
        slug=notice.slug,
        title=notice.title,
        summary=values["summary"],
        url=f"{public}/notices/{notice.slug}",
        image=f"{public}/notices/images/{cover}" if cover else "",
        fields=fields,
    )


def _template_fields(app: Flask) -> dict[str, str]:
    return dict(PushesSettings.of(app).template_fields)


def mass_message(content: Content) -> dict:
    """The mass-send body: a text with the title, the summary and the link to the notice page."""
    text = f"【{content.title}】\n{content.summary}\n详情：{content.url}".replace("\n\n", "\n")
    return {"msgtype": "text", "text": {"content": text}}


def api_for(app: Flask) -> Any:
    """The app's WeChat API client."""
    return get_api(app)


def send_one(app: Flask, api: Any, channel: str, openid: str, content: Content, key: str) -> Outcome:
    """Send a template or customer-service message to one follower; never raises for a platform answer."""
    try:
        if channel == "template":
            template_id = PushesSettings.of(app).template_id
            data = {field: {"value": value} for field, value in content.fields.items()}
            answer = api.send_template(openid, template_id, data, url=content.url, client_msg_id=key)
        else:
            answer = api.send_news(openid, content.title, content.summary, content.url, image=content.image)
    except errors.WeChatApiError as exc:
        return classify(exc)
    return Outcome("sent", msgid=str((answer or {}).get("msgid") or "") or None)


def classify(exc) -> Outcome:
    """What a platform error means for one delivery (and for the push: `pause`)."""
    described = f"{exc.errcode} {exc.errmsg}".strip()
    if isinstance(exc, errors.UserUnsubscribed) or exc.errcode == UNSUBSCRIBED:
        return Outcome("skipped", UNSUBSCRIBED_WHY, unsubscribed=True)
    if isinstance(exc, errors.OutsideServiceWindow) or exc.errcode == OUTSIDE_WINDOW:
        return Outcome("skipped", WINDOW_WHY)
    if isinstance(exc, errors.QuotaExceeded) or exc.errcode == QUOTA:
        return Outcome("pause", QUOTA_WHY)
    if isinstance(exc, errors.TokenInvalid):
        return Outcome("pause", TOKEN_WHY.format(code=exc.errcode))
    if isinstance(exc, errors.RetryableApiError):
        return Outcome("retry", f"平台繁忙或连接超时：{described}")
    return Outcome("failed", f"平台拒绝：{described}")


def send_mass(api: Any, content: Content, clientmsgid: str, *, tag_id=None, openids=None) -> Outcome:
    """One mass-send call (to all, a tag or an openid list); a repeated clientmsgid counts as already sent."""
    try:
        answer = api.mass_send(mass_message(content), tag_id=tag_id, openids=openids, clientmsgid=clientmsgid)
    except errors.WeChatApiError as exc:
        if exc.errcode == CLIENTMSGID_EXISTS:  # sent before a crash: the platform refused the duplicate
            return Outcome("sent", msgid=str(getattr(exc, "msg_id", "") or "") or None)
        return classify(exc)
    return Outcome("sent", msgid=str((answer or {}).get("msg_id") or "") or None)


def preview(app: Flask, api: Any, channel: str, openid: str, content: Content) -> Outcome:
    """Send the push's message to one editor: the platform's preview API for mass sends, else the message itself."""
    if channel != "mass":
        key = f"preview-{time.time_ns()}-{openid}"[:64]  # every preview is new: no de-duplication wanted
        return send_one(app, api, channel, openid, content, key=key)
    try:
        api.mass_preview(openid, mass_message(content))
    except errors.WeChatApiError as exc:
        return classify(exc)
    return Outcome("sent")
