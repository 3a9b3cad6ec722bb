"""The sandbox platform's API side: /sandbox/api/cgi-bin/<path>, answering like api.weixin.qq.com/cgi-bin/<path>.

Every call is checked (method, JSON body, access token), answered by the handler registered for its path (here for
the tokens; bot.sandbox.messages and bot.sandbox.account for the rest) and recorded in sandbox_call with its answer.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy import delete, select, update

from bot.db import session, utcnow
from bot.models import SandboxCall, SandboxToken
from bot.sandbox.platform import ENDPOINTS, Answer, Call, Fail, aware, endpoint
from bot.wechat.settings import WechatSettings

bp = Blueprint("sandbox_api", __name__, url_prefix="/sandbox/api/cgi-bin")

TOKEN_SECONDS = 7200
# A token from `token` stays valid this long after a newer one is issued; `stable_token` renews this early.
OVERLAP = timedelta(minutes=5)


@bp.route("/<path:path>", methods=["GET", "POST"])
def dispatch(path: str) -> Response:
    """Answer one API call as the platform would, and record it."""
    spec = ENDPOINTS.get(path)
    if spec is None:
        abort(404)
    s = session()
    call = Call(s, path, request.args.to_dict(), {}, utcnow(), current_app.config["SETTINGS"])
    record = _start_record(call, spec.channel)
    try:
        if spec.method == "POST" and request.method != "POST":
            raise Fail(43002, "require POST method")
        if request.method == "POST":
            call.body = _json_body()
        if spec.auth:
            _check_token(call)
        answer: Answer = spec.handler(call)
    except Fail as fail:
        s.rollback()  # nothing the handler wrote stays, the record included: start it again
        answer = fail.payload()
        record = _start_record(call, spec.channel)
    _finish_record(call, record, answer)
    s.commit()
    if isinstance(answer, Response):
        return answer
    return Response(json.dumps(answer, ensure_ascii=False), content_type="application/json; encoding=utf-8")


def _json_body() -> dict:
    raw = request.get_data(cache=False)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise Fail(47001, "data format error") from None
    if not isinstance(body, dict):
        raise Fail(47001, "data format error")
    return body


def _check_token(call: Call) -> None:
    given = call.args.get("access_token")
    if not given:
        raise Fail(41001, "access_token missing")
    row = call.session.get(SandboxToken, given)
    if row is None:
        raise Fail(40001, "invalid credential, access_token is invalid or not latest")
    if aware(row.expires_at) <= call.now:
        raise Fail(42001, "access_token expired")


def _start_record(call: Call, channel: str) -> SandboxCall:
    record = SandboxCall(path=call.path, channel=channel, at=call.now)
    call.session.add(record)
    call.session.flush()
    call.call_id = record.id
    return record


def _finish_record(call: Call, record: SandboxCall, answer: Answer) -> None:
    body = {**call.args, **call.body}
    body.pop("access_token", None)
    if "secret" in body:
        body["secret"] = "***"
    if isinstance(answer, Response):
        recorded = {"content_type": answer.content_type, "bytes": answer.content_length}
    else:
        recorded = answer
    record.openid, record.body, record.response, record.note = call.openid, body, recorded, call.note
    record.errcode = int(recorded.get("errcode", 0) or 0)


# ---------------------------------------------------------------------- access tokens


def _check_credentials(call: Call, values: dict) -> None:
    wechat = call.settings.get(WechatSettings)
    if values.get("grant_type") != "client_credential":
        raise Fail(40002, "invalid grant_type")
    if not values.get("appid"):
        raise Fail(41002, "appid missing")
    if values["appid"] != wechat.app_id:
        raise Fail(40013, "invalid appid")
    if not values.get("secret"):
        raise Fail(41004, "appsecret missing")
    if values["secret"] != wechat.app_secret:
        raise Fail(40125, "invalid appsecret")


def _issue(call: Call, kind: str) -> dict:
    token = secrets.token_urlsafe(96)
    call.session.add(SandboxToken(token=token, kind=kind, expires_at=call.now + timedelta(seconds=TOKEN_SECONDS)))
    return {"access_token": token, "expires_in": TOKEN_SECONDS}


@endpoint("token", channel="token", method="GET", auth=False)
def token(call: Call) -> dict:
    """A new token each time; the previous ones of this kind stay valid for 5 more minutes."""
    _check_credentials(call, call.args)
    call.session.execute(
        update(SandboxToken)
        .where(SandboxToken.kind == "token", SandboxToken.expires_at > call.now + OVERLAP)
        .values(expires_at=call.now + OVERLAP)
    )
    return _issue(call, "token")


@endpoint("stable_token", channel="token", auth=False)
def stable_token(call: Call) -> dict:
    """The current stable token (renewed 5 minutes before it expires); force_refresh=true invalidates it at once."""
    _check_credentials(call, call.body)
    if call.body.get("force_refresh") is True:
        # The earlier stable tokens stop working at once (they answer 40001 "not latest" from now on).
        call.session.execute(delete(SandboxToken).where(SandboxToken.kind == "stable"))
        return _issue(call, "stable")
    current = call.session.execute(
        select(SandboxToken)
        .where(SandboxToken.kind == "stable", SandboxToken.expires_at > call.now + OVERLAP)
        .order_by(SandboxToken.expires_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    if current is None:
        return _issue(call, "stable")
    return {"access_token": current.token, "expires_in": int((aware(current.expires_at) - call.now).total_seconds())}
