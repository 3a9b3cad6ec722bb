"""The sandbox's message endpoints: customer-service (48-hour window), template (followers only) and mass sends.

The mass-send budget follows the platform: a subscription account (订阅号) may mass-send once a day; a service account
(服务号) may send to everyone once a day and at most 4 times a month, and each follower receives at most 4 mass sends
a month (the others are skipped, and when nobody is left the send is refused with 45028).
"""

from __future__ import annotations

from datetime import UTC, timedelta

from sqlalchemy import func, select

from bot.models import Follower, SandboxCall, SandboxMass, SandboxMassReceipt, SandboxTag
from bot.sandbox.platform import SERVICE_WINDOW, Call, Fail, aware, endpoint, follower
from bot.wechat.settings import WechatSettings

CUSTOM_TYPES = {"text", "image", "voice", "video", "music", "news", "mpnews", "mpnewsarticle", "msgmenu", "wxcard"}
MASS_TYPES = {"text", "mpnews", "image", "voice", "mpvideo", "wxcard"}
FOLLOWER_MONTHLY_MASS = 4
CLIENTMSGID_MEMORY = timedelta(hours=24)
CLIENT_MSG_ID_MEMORY = timedelta(minutes=10)  # template messages' client_msg_id


@endpoint("message/custom/send", channel="custom")
def custom_send(call: Call) -> dict:
    """A customer-service message: only to a follower who wrote within the last 48 hours (else 45015)."""
    user = follower(call, call.body.get("touser"))
    msgtype = call.body.get("msgtype")
    if msgtype not in CUSTOM_TYPES:
        raise Fail(40008, "invalid message type")
    _check_content(call, msgtype)
    last = aware(user.last_message_at)
    if not user.subscribed or last is None or call.now - last > SERVICE_WINDOW:
        raise Fail(45015, "response out of time limit or subscription is canceled")
    return {"errcode": 0, "errmsg": "ok"}


def _check_content(call: Call, msgtype: str) -> None:
    content = call.body.get(msgtype)
    if not isinstance(content, dict):
        raise Fail(44002, "empty post data")
    if msgtype == "text" and not str(content.get("content") or "").strip():
        raise Fail(44004, "empty content")
    if msgtype == "news":
        articles = content.get("articles")
        if not isinstance(articles, list) or not articles:
            raise Fail(44003, "empty news data")
        if len(articles) > 1:
            raise Fail(45008, "article size out of limit")
    if msgtype in ("image", "voice", "mpnews") and not content.get("media_id"):
        raise Fail(40007, "invalid media_id")


@endpoint("message/template/send", channel="template")
def template_send(call: Call) -> dict:
    """A template message: to any follower, at any time; 43004 when the user does not follow the account."""
    user = follower(call, call.body.get("touser"))
    if not isinstance(call.body.get("template_id"), str) or not call.body["template_id"]:
        raise Fail(40037, "invalid template_id")
    if not isinstance(call.body.get("data"), dict):
        raise Fail(47001, "data format error")
    if not user.subscribed:
        raise Fail(43004, "require subscribe")
    earlier = _same_client_msg_id(call)
    if earlier is not None:
        call.note = "repeated client_msg_id within 10 minutes: not sent again"
        return {"errcode": 0, "errmsg": "ok", "msgid": earlier}
    return {"errcode": 0, "errmsg": "ok", "msgid": _next_msgid(call)}


def _same_client_msg_id(call: Call) -> int | None:
    """The msgid of a template message sent to the same user with the same client_msg_id in the last 10 minutes."""
    key = call.body.get("client_msg_id")
    if not key:
        return None
    rows = call.session.execute(
        select(SandboxCall.body, SandboxCall.response).where(
            SandboxCall.path == call.path,
            SandboxCall.openid == call.body.get("touser"),
            SandboxCall.errcode == 0,
            SandboxCall.at > call.now - CLIENT_MSG_ID_MEMORY,
            SandboxCall.id != call.call_id,
        )
    )
    for body, response in rows:
        if (body or {}).get("client_msg_id") == key:
            return (response or {}).get("msgid")
    return None


def _next_msgid(call: Call) -> int:
    # Unique and stable: derived from the id of this call's record.
    return 2_000_000_000 + call.call_id


@endpoint("message/mass/preview", channel="preview")
def mass_preview(call: Call) -> dict:
    """Send a mass message to one follower to look at (does not count against the budget)."""
    user = follower(call, call.body.get("touser"))
    _check_mass_message(call)
    if not user.subscribed:
        raise Fail(43004, "require subscribe")
    return {"errcode": 0, "errmsg": "preview success", "msg_id": _next_msgid(call)}


@endpoint("message/mass/sendall", channel="mass")
def mass_sendall(call: Call) -> dict:
    """A mass send to every follower (filter.is_to_all) or to the followers with a tag (filter.tag_id)."""
    flt = call.body.get("filter")
    if not isinstance(flt, dict):
        raise Fail(44002, "empty post data")
    to_all = flt.get("is_to_all") is True
    if to_all:
        recipients = call.session.execute(select(Follower.openid).where(Follower.subscribed.is_(True))).scalars()
        return _mass(call, "sendall", list(recipients), to_all=True)
    tag = call.session.get(SandboxTag, flt.get("tag_id")) if isinstance(flt.get("tag_id"), int) else None
    if tag is None:
        # What the platform answers for an unknown tag_id (reported by developers): a bare system error.
        raise Fail(-1, f"system error (sandbox: no tag with id {flt.get('tag_id')!r})")
    return _mass(call, "sendall", _subscribed(call, tag.openids), to_all=False)


@endpoint("message/mass/send", channel="mass")
def mass_send(call: Call) -> dict:
    """A mass send to a list of 2 to 10000 openids (service accounts only)."""
    if call.settings.get(WechatSettings).account_type != "service":
        raise Fail(48001, "api unauthorized")
    touser = call.body.get("touser")
    if not isinstance(touser, list) or not 2 <= len(touser) <= 10000:
        raise Fail(40130, "invalid openid list size, at least two openid")
    return _mass(call, "send", _subscribed(call, touser), to_all=False)


def _subscribed(call: Call, openids: list) -> list[str]:
    wanted = [o for o in openids if isinstance(o, str)]
    found = call.session.execute(
        select(Follower.openid).where(Follower.openid.in_(wanted), Follower.subscribed.is_(True))
    ).scalars()
    return sorted(set(found))


def _check_mass_message(call: Call) -> str:
    msgtype = call.body.get("msgtype")
    if msgtype not in MASS_TYPES:
        raise Fail(40008, "invalid message type")
    _check_content(call, msgtype)
    return msgtype


def _mass(call: Call, kind: str, recipients: list[str], *, to_all: bool) -> dict:
    msgtype = _check_mass_message(call)
    clientmsgid = call.body.get("clientmsgid")
    if clientmsgid:
        earlier = call.session.execute(
            select(SandboxMass.id).where(
                SandboxMass.clientmsgid == str(clientmsgid), SandboxMass.at > call.now - CLIENTMSGID_MEMORY
            )
        ).scalar()
        if earlier is not None:
            raise Fail(45065, "clientmsgid exist", msg_id=earlier)
    _check_account_budget(call, to_all)
    receiving, skipped = _within_follower_budget(call, recipients)
    if recipients and not receiving:
        raise Fail(45028, "has no masssend quota")
    mass = SandboxMass(clientmsgid=str(clientmsgid) if clientmsgid else None, kind=kind, to_all=to_all, at=call.now)
    call.session.add(mass)
    call.session.flush()
    call.session.add_all(SandboxMassReceipt(mass_id=mass.id, openid=o, at=call.now) for o in receiving)
    call.note = f"delivered to {len(receiving)} follower(s)" + (
        f"; skipped (4 mass sends this month already): {', '.join(skipped)}" if skipped else ""
    )
    answer = {"errcode": 0, "errmsg": "send job submission success", "msg_id": mass.id}
    if msgtype == "mpnews":
        answer["msg_data_id"] = 3_000_000_000 + mass.id
    return answer


def _month_and_day_start(call: Call) -> tuple:
    # Local midnight and the first of the month, given in UTC (SQLite compares the stored UTC text).
    day = call.local().replace(hour=0, minute=0, second=0, microsecond=0)
    return day.replace(day=1).astimezone(UTC), day.astimezone(UTC)


def _check_account_budget(call: Call, to_all: bool) -> None:
    month, day = _month_and_day_start(call)

    def sends(since, *where) -> int:
        query = select(func.count()).select_from(SandboxMass).where(SandboxMass.at >= since, *where)
        return call.session.execute(query).scalar_one()

    if call.settings.get(WechatSettings).account_type == "subscription":
        if sends(day) >= 1:
            raise Fail(45028, "has no masssend quota")
    elif to_all and (sends(day, SandboxMass.to_all.is_(True)) >= 1 or sends(month, SandboxMass.to_all.is_(True)) >= 4):
        raise Fail(45028, "has no masssend quota")


def _within_follower_budget(call: Call, recipients: list[str]) -> tuple[list[str], list[str]]:
    if call.settings.get(WechatSettings).account_type != "service" or not recipients:
        return recipients, []
    month, _ = _month_and_day_start(call)
    counts = dict(
        call.session.execute(
            select(SandboxMassReceipt.openid, func.count())
            .where(SandboxMassReceipt.openid.in_(recipients), SandboxMassReceipt.at >= month)
            .group_by(SandboxMassReceipt.openid)
        ).all()
    )
    receiving = [o for o in recipients if counts.get(o, 0) < FOLLOWER_MONTHLY_MASS]
    return receiving, [o for o in recipients if o not in set(receiving)]
