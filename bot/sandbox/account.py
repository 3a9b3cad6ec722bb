"""The sandbox's account endpoints: media download, the custom menu, user profiles and user tags."""

from __future__ import annotations

from datetime import timedelta

from flask import Response
from sqlalchemy import select

from bot.models import SandboxCall, SandboxMedia, SandboxTag
from bot.sandbox.platform import Call, Fail, aware, endpoint, follower
from bot.wechat.menu import check_buttons

MEDIA_LIFETIME = timedelta(days=3)  # temporary media expire after three days on the platform
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "audio/amr": "amr", "video/mp4": "mp4"}


@endpoint("media/get", channel="media", method="GET")
def media_get(call: Call) -> Response | dict:
    """A file a sandbox user sent, as the platform serves it: the bytes with Content-Type and a file name."""
    media = call.session.get(SandboxMedia, call.args.get("media_id") or "")
    if media is None or call.now - aware(media.created_at) > MEDIA_LIFETIME:
        raise Fail(40007, "invalid media_id")
    call.openid = media.openid
    name = f"{media.media_id}.{EXTENSIONS.get(media.content_type, 'bin')}"
    return Response(
        media.content,
        content_type=media.content_type,
        headers={"Content-disposition": f'attachment; filename="{name}"', "Cache-Control": "no-cache, must-revalidate"},
    )


@endpoint("menu/create", channel="menu")
def menu_create(call: Call) -> dict:
    """Replace the menu, checked against the platform's limits (the first broken rule's errcode)."""
    problems = check_buttons(call.body)
    if problems:
        errcode, errmsg = problems[0].errcode
        raise Fail(errcode, errmsg)
    return {"errcode": 0, "errmsg": "ok"}


@endpoint("menu/get", channel="menu", method="GET")
def menu_get(call: Call) -> dict:
    """The menu last created successfully, every button with its sub_button list; 46003 when there is none."""
    body = call.session.execute(
        select(SandboxCall.body)
        .where(SandboxCall.path == "menu/create", SandboxCall.errcode == 0, SandboxCall.id != call.call_id)
        .order_by(SandboxCall.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if not body:
        raise Fail(46003, "menu no exist")
    buttons = [{**b, "sub_button": b.get("sub_button") or []} for b in body["button"]]
    return {"menu": {"button": buttons}}


@endpoint("user/info", channel="user", method="GET")
def user_info(call: Call) -> dict:
    """A follower's profile as the platform gives it since 2021 (no nickname or avatar)."""
    user = follower(call, call.args.get("openid"))
    if not user.subscribed:
        return {"subscribe": 0, "openid": user.openid}
    since = aware(user.subscribed_at or user.created_at)
    tags = call.session.execute(select(SandboxTag).order_by(SandboxTag.id)).scalars()
    return {
        "subscribe": 1,
        "openid": user.openid,
        "language": "zh_CN",
        "subscribe_time": int(since.timestamp()),
        "remark": "",
        "groupid": 0,
        "tagid_list": [t.id for t in tags if user.openid in (t.openids or [])],
        "subscribe_scene": "ADD_SCENE_QR_CODE" if user.scene else "ADD_SCENE_SEARCH",
        "qr_scene": 0,
        "qr_scene_str": user.scene or "",
    }


@endpoint("tags/get", channel="user", method="GET")
def tags_get(call: Call) -> dict:
    """The account's tags with their follower counts."""
    tags = call.session.execute(select(SandboxTag).order_by(SandboxTag.id)).scalars()
    return {"tags": [{"id": t.id, "name": t.name, "count": len(t.openids or [])} for t in tags]}


@endpoint("user/tag/get", channel="user")
def tag_users(call: Call) -> dict:
    """One page (up to 10000) of a tag's followers, after next_openid."""
    tag = call.session.get(SandboxTag, call.body.get("tagid")) if isinstance(call.body.get("tagid"), int) else None
    if tag is None:
        raise Fail(45159, "invalid tag id")
    after = call.body.get("next_openid") or ""
    page = [o for o in sorted(tag.openids or []) if o > after][:10000]
    if not page:
        return {"count": 0, "next_openid": ""}
    return {"count": len(page), "data": {"openid": page}, "next_openid": page[-1]}
