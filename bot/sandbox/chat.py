"""The sandbox's user side at /sandbox/: a phone-like chat whose every action is a real signed POST to /wechat.

Test users are made up (an openid and a nickname). Their actions (follow, text, menu, photo, location) go through
bot.sandbox.wire; the passive replies and the user's own bubbles are kept in sandbox_message, and what the app
later sends through the API side (sandbox_call rows for the user) is picked up by the page's poll every 2 s.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select, update

from bot.config import AppSettings
from bot.content import ContentError
from bot.db import session, utcnow
from bot.leads.settings import LeadsSettings
from bot.models import Follower, InboundMessage, SandboxMedia, SandboxMessage, SandboxUser
from bot.sandbox import history, store_media
from bot.sandbox.bubbles import media_src, message_bubble, reply_fields
from bot.sandbox.samples import PLACES, SAMPLES, image_type, sample_png
from bot.sandbox.wire import event_xml, image_xml, location_xml, text_xml
from bot.wechat.cli import MENU_FILE
from bot.wechat.menu import load_menu
from bot.wechat.settings import WechatSettings

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox", template_folder="templates", static_folder="static")

TEXT_LIMIT = 2000  # characters a user can type in one WeChat message (the app checks its own limits)
PHOTO_LIMIT = 5 * 1024 * 1024
Bubble = tuple[str, str, dict[str, Any]]  # side, kind, payload


def _menu() -> tuple[dict | None, str | None]:
    """The account's menu from content/menu.toml, or the editor's error to show instead."""
    try:
        return load_menu(MENU_FILE, AppSettings.of(current_app).public_url), None
    except ContentError as error:
        return None, error.format_message()


def _menu_buttons(kind: str) -> dict[str, str]:
    """Every button of one type in the menu: key (click) or url (view) -> name."""
    menu, _ = _menu()
    field = "key" if kind == "click" else "url"
    buttons = [b for top in (menu or {}).get("button", []) for b in [top, *(top.get("sub_button") or [])]]
    return {b[field]: b["name"] for b in buttons if b.get("type") == kind}


def _user(openid: str) -> SandboxUser:
    user = session().get(SandboxUser, openid)
    if user is None:
        abort(404)
    return user


def _subscribed(openid: str) -> bool:
    row = session().execute(select(Follower.subscribed).where(Follower.openid == openid)).scalar_one_or_none()
    return bool(row)


@bp.get("/")
def index() -> str:
    """The chat page for the chosen user (?u=openid; the newest user otherwise)."""
    users = session().execute(select(SandboxUser).order_by(SandboxUser.created_at.desc())).scalars().all()
    chosen = next((u for u in users if u.openid == request.args.get("u")), users[0] if users else None)
    menu, menu_error = _menu()
    return render_template(
        "sandbox/chat.html",
        users=users,
        user=chosen,
        subscribed=_subscribed(chosen.openid) if chosen else False,
        menu=menu,
        menu_error=menu_error,
        places=PLACES,
        samples=SAMPLES,
        suggested=f"测试用户{secrets.randbelow(9000) + 1000}",
        safe_mode=bool(WechatSettings.of(current_app).encoding_aes_key),
    )


@bp.post("/users")
def create_user() -> Response:
    """A new made-up user: an openid shaped like the platform's (28 characters) and the nickname typed."""
    nickname = (request.form.get("nickname") or "").strip()[:32] or f"测试用户{secrets.randbelow(9000) + 1000}"
    openid = "oSBX" + secrets.token_urlsafe(18)[:24]
    s = session()
    s.add(SandboxUser(openid=openid, nickname=nickname, created_at=utcnow()))
    s.commit()
    return redirect(url_for("sandbox.index", u=openid), code=303)


@bp.post("/users/<openid>/actions")
def act(openid: str) -> Response:
    """One action of the user, given as JSON {"type": ...}; answers the new bubbles and the follow state."""
    _user(openid)
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return _bad("请求应为 JSON，且带有 type。")
    build = ACTIONS.get(data["type"])
    if build is None:
        return _bad(f"不认识的操作：{data['type'][:40]}")
    built = build(openid, data)
    if isinstance(built, str):
        return _bad(built)
    xml, bubble = built
    return _send(openid, xml, bubble)


@bp.post("/users/<openid>/photo")
def upload_photo(openid: str) -> Response:
    """A photo uploaded from the browser, sent as an image message (JPEG, PNG or GIF up to 5 MB)."""
    _user(openid)
    if request.headers.get("X-Sandbox") != "1":  # only the page's own script (a cross-site form cannot set it)
        return _bad("缺少 X-Sandbox 请求头。")
    upload = request.files.get("photo")
    data = upload.read(PHOTO_LIMIT + 1) if upload else b""
    if not data:
        return _bad("没有收到照片。")
    if len(data) > PHOTO_LIMIT:
        return _bad("照片太大（最大 5 MB）。")
    content_type = image_type(data)
    if content_type is None:
        return _bad("只能发送 JPEG、PNG 或 GIF 图片。")
    return _send(openid, *_photo(openid, data, content_type))


@bp.post("/users/<openid>/age")
def age_window(openid: str) -> Response:
    """Move the user's last message back past the customer-service window (`[leads] service_window_hours` + 1),
    so that the app's next notice or reply goes as a template message, as it would after two quiet days."""
    _user(openid)
    if request.headers.get("X-Sandbox") != "1":  # only the page's own script
        return _bad("缺少 X-Sandbox 请求头。")
    s = session()
    hours = LeadsSettings.of(current_app).service_window_hours + 1
    before = utcnow() - timedelta(hours=hours)
    s.execute(update(Follower).where(Follower.openid == openid, Follower.last_message_at > before)
              .values(last_message_at=before))  # fmt: skip
    s.execute(update(InboundMessage).where(InboundMessage.openid == openid, InboundMessage.received_at > before)
              .values(received_at=before))  # fmt: skip
    note = f"（沙盒）你的最后一条消息已改到 {hours} 小时前：在你再次发消息之前，公众号发来的通知和答复都是模板消息。"
    row = SandboxMessage(openid=openid, side="system", kind="note", payload=json.dumps({"text": note}), at=utcnow())
    s.add(row)
    s.commit()
    return jsonify(bubbles=[message_bubble(row)], subscribed=_subscribed(openid))


def _bad(text: str) -> Response:
    response = jsonify(error=text)
    response.status_code = 400
    return response


def _photo(openid: str, data: bytes, content_type: str) -> tuple[str, Bubble]:
    media_id = store_media(session(), data, content_type, openid)
    session().commit()
    pic_url = AppSettings.of(current_app).public_url.rstrip("/") + media_src(media_id)
    return image_xml(openid, pic_url, media_id), ("user", "image", {"media_id": media_id})


def _send(openid: str, xml: str, bubble: Bubble) -> Response:
    """Deliver `xml` to /wechat, keep the user's bubble and the reply's, answer them as JSON."""
    s = session()
    sent_at = utcnow()
    s.commit()  # hold no transaction while the webhook runs (SQLite has one writer: it would wait for us)
    delivery = current_app.extensions["sandbox_wire"].deliver(xml, openid)
    side, kind, payload = bubble
    rows = [SandboxMessage(openid=openid, side=side, kind=kind, payload=json.dumps(payload), at=sent_at)]
    if delivery.refused:
        reason = delivery.body.strip()[:200] or "无说明"
        error = {"text": f"公众号服务器拒绝了这条消息（HTTP {delivery.status}：{reason}）"}
        rows.append(SandboxMessage(openid=openid, side="system", kind="error", payload=json.dumps(error)))
    elif (answer := reply_fields(delivery.reply)) is not None:
        reply_kind, reply_payload = answer
        rows.append(SandboxMessage(openid=openid, side="bot", kind=reply_kind, payload=json.dumps(reply_payload)))
    for row in rows[1:]:
        row.at = utcnow()
    s.add_all(rows)
    s.commit()
    return jsonify(bubbles=[message_bubble(r) for r in rows], subscribed=_subscribed(openid))


# ---------------------------------------------------------------------- the actions


def _text(openid: str, data: dict) -> tuple[str, Bubble] | str:
    content = data.get("content")
    if not isinstance(content, str) or not content.strip():
        return "消息不能为空。"
    if len(content) > TEXT_LIMIT:
        return f"消息太长（最多 {TEXT_LIMIT} 字）。"
    return text_xml(openid, content), ("user", "text", {"text": content})


def _follow(openid: str, _data: dict) -> tuple[str, Bubble]:
    return event_xml(openid, "subscribe", ""), ("system", "note", {"text": "你关注了公众号"})


def _unfollow(openid: str, _data: dict) -> tuple[str, Bubble]:
    return event_xml(openid, "unsubscribe", ""), ("system", "note", {"text": "你取消关注了公众号"})


def _click(openid: str, data: dict) -> tuple[str, Bubble] | str:
    name = _menu_buttons("click").get(data.get("key"))
    if name is None:
        return "菜单里没有这个按钮。"
    return event_xml(openid, "CLICK", data["key"]), ("system", "note", {"text": f"点击了菜单「{name}」"})


def _view(openid: str, data: dict) -> tuple[str, Bubble] | str:
    name = _menu_buttons("view").get(data.get("url"))
    if name is None:
        return "菜单里没有这个链接。"
    return event_xml(openid, "VIEW", data["url"]), ("system", "note", {"text": f"打开了菜单链接「{name}」"})


def _location(openid: str, data: dict) -> tuple[str, Bubble] | str:
    place = next((p for p in PLACES if p.name == data.get("place")), None)
    if place is None:
        return "请从列表中选择一个位置。"
    payload = {"name": place.name, "label": place.label, "lat": place.lat, "lon": place.lon}
    return location_xml(openid, place.lat, place.lon, place.label), ("user", "location", payload)


def _sample_photo(openid: str, data: dict) -> tuple[str, Bubble] | str:
    if data.get("sample") not in SAMPLES:
        return "没有这张示例图片。"
    return _photo(openid, sample_png(data["sample"]), "image/png")


ACTIONS = {
    "text": _text,
    "subscribe": _follow,
    "unsubscribe": _unfollow,
    "click": _click,
    "view": _view,
    "location": _location,
    "photo": _sample_photo,
}


# ---------------------------------------------------------------------- what the page reads


@bp.get("/users/<openid>/messages")
def messages(openid: str) -> Response:
    """The chat as bubbles: all of it (no `after`), or the API-side messages after call id `after` (the poll)."""
    _user(openid)
    after = request.args.get("after", type=int)
    bubbles, last = history.load(session(), openid, after)
    return jsonify(bubbles=bubbles, last=last, subscribed=_subscribed(openid))


@bp.get("/media/<media_id>")
def media(media_id: str) -> Response:
    """A photo a sandbox user sent (the PicUrl of the image message)."""
    row = session().get(SandboxMedia, media_id)
    if row is None:
        abort(404)
    return Response(row.content, content_type=row.content_type, headers={"Cache-Control": "private, max-age=3600"})


@bp.get("/samples/<name>.png")
def sample(name: str) -> Response:
    """A sample photo's picture for the picker."""
    if name not in SAMPLES:
        abort(404)
    return Response(sample_png(name), content_type="image/png", headers={"Cache-Control": "max-age=86400"})
