"""The `wechat` blueprint: WeChat's server verification (GET /wechat) and its messages (POST /wechat).

Order of checks for a POST, cheapest first, nothing written before the last: signature and timestamp (the query),
the body limit, DTD refusal and XML parsing, msg_signature / AES / AppID in safe mode, the fields of the message;
then one transaction records the nonce and the message, routes it and stores the reply.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from bot.db import session
from bot.wechat import handlers, replies
from bot.wechat.inbox import Envelope, Inbox
from bot.wechat.protocol import Cipher, Refused, check_signature, check_timestamp, incoming, parse_xml, read_body
from bot.wechat.render import SUCCESS

bp = Blueprint("wechat", __name__)
log = logging.getLogger(__name__)


class Webhook:
    """The account's protocol settings, read once: token, AppID, limits and the safe-mode cipher (or None)."""

    def __init__(self, app: Flask) -> None:
        settings = app.config["SETTINGS"]["wechat"]
        self.token, self.app_id = settings["token"], settings["app_id"]
        self.body_limit, self.window = settings["body_limit"], settings["replay_window"]
        key = settings["encoding_aes_key"]
        self.cipher = Cipher(self.token, key, self.app_id) if key else None
        self.inbox = Inbox(app)

    def open(self, req) -> Envelope:
        """Verify and decode one POST; raise Refused for anything that is not a genuine, fresh WeChat message."""
        timestamp, nonce = check_signature(self.token, req.args)
        check_timestamp(timestamp, self.window)
        outer = parse_xml(read_body(req, self.body_limit))
        encrypted = req.args.get("encrypt_type", "").lower() == "aes"
        if self.cipher is not None:
            if not encrypted:
                raise Refused(400, "this account is in safe mode: encrypt_type=aes expected")
            fields = self._decrypt(outer, req.args, timestamp, nonce)
        elif "MsgType" in outer:
            fields = outer  # plain mode; in compatible mode the plaintext beside <Encrypt> is used
        else:
            raise Refused(400, "encrypted message, but this account is in plain mode (no encoding_aes_key)")
        account = fields.get("ToUserName")
        return Envelope(incoming(fields), timestamp, nonce, account if isinstance(account, str) else self.app_id)

    def _decrypt(self, outer: dict[str, Any], args, timestamp: str, nonce: str) -> dict[str, Any]:
        assert self.cipher is not None
        inner = self.cipher.decrypt(outer.get("Encrypt"), args.get("msg_signature", ""), timestamp, nonce)
        return parse_xml(inner)

    def seal(self, body: str, env: Envelope) -> str:
        """The response for a plain reply body: encrypted and signed in safe mode (`success` stays as it is)."""
        if self.cipher is None or body == SUCCESS:
            return body
        return self.cipher.encrypt(body, env.nonce, env.timestamp)


def _refuse(refusal: Refused) -> Response:
    # The reason only: never the query (it holds the openid) nor the body.
    log.warning("wechat request refused status=%s reason=%s", refusal.status, refusal.reason)
    return Response(refusal.reason + "\n", status=refusal.status, mimetype="text/plain")


@bp.get("/wechat")
def verify() -> Response:
    """Server verification: echo `echostr` when the signature is ours."""
    webhook: Webhook = current_app.extensions["webhook"]
    try:
        check_signature(webhook.token, request.args)
    except Refused as refusal:
        return _refuse(refusal)
    echostr = request.args.get("echostr")
    if echostr is None:
        return _refuse(Refused(400, "missing echostr"))
    return Response(echostr, mimetype="text/plain")


@bp.post("/wechat")
def receive() -> Response:
    """A message or event: verified, de-duplicated, routed, answered within WeChat's 5 seconds."""
    webhook: Webhook = current_app.extensions["webhook"]
    try:
        env = webhook.open(request)
        replies.refresh(current_app)
        body = webhook.inbox.process(session(), env)
    except Refused as refusal:
        return _refuse(refusal)
    mimetype = "text/plain" if body == SUCCESS else "application/xml"
    return Response(webhook.seal(body, env), mimetype=mimetype)


def init_app(app: Flask) -> None:
    """The webhook: content files (checked now), its handlers on the router, and the blueprint."""
    replies.init_app(app)
    handlers.init_app(app)
    app.extensions["webhook"] = Webhook(app)
    app.register_blueprint(bp)
