"""WeChat's server verification (GET /wechat, a Flask view) and its messages (POST /wechat, at the WSGI level).

A message is answered by `WebhookEndpoint`, a WSGI layer in front of Flask: no request context, no before/after
hooks, no response object; the checks, the transaction and the log line are the same a Flask view would have had,
at about a third of the cost (bench/README.md).

Order of checks for a POST, cheapest first, nothing written before the last: signature and timestamp (the query),
the body limit, DTD refusal and XML parsing, msg_signature / AES / AppID in safe mode, the fields of the message;
then the message is answered: without effect, after one read and recorded later; otherwise in one transaction
that records the nonce and the message, runs the handler and stores the reply (bot/wechat/inbox.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint, Flask, Response, current_app, request
from sqlalchemy.exc import DataError, OperationalError

from bot.db import DatabaseBusy, is_busy
from bot.wechat import handlers, replies
from bot.wechat.inbox import Envelope, Inbox
from bot.wechat.protocol import Cipher, Refused, check_signature, check_timestamp, incoming, parse_xml, read_body
from bot.wechat.render import SUCCESS
from bot.wechat.settings import WechatSettings

bp = Blueprint("wechat", __name__)
log = logging.getLogger(__name__)
request_log = logging.getLogger("bot.request")  # the same line bot/logs.py writes for every Flask request
PATH = "/wechat"


class Webhook:
    """The account's protocol settings, read once: token, AppID, limits and the safe-mode cipher (or None)."""

    def __init__(self, app: Flask) -> None:
        settings = WechatSettings.of(app)
        self.token, self.app_id = settings.token, settings.app_id
        self.body_limit, self.window = settings.body_limit, settings.replay_window
        key = settings.encoding_aes_key
        self.cipher = Cipher(self.token, key, self.app_id) if key else None
        self.inbox = Inbox(app)

    def open(self, args: Mapping[str, str], environ: dict) -> Envelope:
        """Verify and decode one POST; raise Refused for anything that is not a genuine, fresh WeChat message."""
        timestamp, nonce = check_signature(self.token, args)
        check_timestamp(timestamp, self.window)
        outer = parse_xml(read_body(environ, self.body_limit))
        encrypted = args.get("encrypt_type", "").lower() == "aes"
        if self.cipher is not None:
            if not encrypted:
                raise Refused(400, "this account is in safe mode: encrypt_type=aes expected")
            fields = self._decrypt(outer, args, timestamp, nonce)
        elif "MsgType" in outer:
            fields = outer  # plain mode; in compatible mode the plaintext beside <Encrypt> is used
        else:
            raise Refused(400, "encrypted message, but this account is in plain mode (no encoding_aes_key)")
        account = fields.get("ToUserName")
        account = account if isinstance(account, str) else self.app_id
        return Envelope(incoming(fields), timestamp, nonce, account, sealed=self.cipher is not None)

    def _decrypt(self, outer: dict[str, Any], args: Mapping[str, str], timestamp: str, nonce: str) -> dict[str, Any]:
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


@bp.get(PATH)
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


_STATUS = {code: f"{code} {HTTPStatus(code).phrase.upper()}" for code in (200, 400, 403, 413, 500)}
_XML = "application/xml; charset=utf-8"
_TEXT = "text/plain; charset=utf-8"


class WebhookEndpoint:
    """WSGI middleware: POST /wechat verified, processed and answered here; every other request goes to `wsgi_app`."""

    def __init__(self, wsgi_app, app: Flask, webhook: Webhook) -> None:
        self.wsgi_app, self.app, self.webhook = wsgi_app, app, webhook

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        status, body, ctype = self.answer(environ)
        data = body.encode()
        headers = [("Content-Type", ctype), ("Content-Length", str(len(data)))]
        start_response(_STATUS.get(status) or f"{status} {HTTPStatus(status).phrase.upper()}", headers)
        request_log.info("method=POST path=%s status=%s ms=%.1f", PATH, status, (time.perf_counter() - started) * 1000)
        return [data]

    def answer(self, environ: dict) -> tuple[int, str, str]:
        """(status, body, content type) for one POST."""
        env = None
        try:
            args = _query(environ.get("QUERY_STRING", ""))
            env = self.webhook.open(args, environ)
            body = self.webhook.inbox.answer(env)
        except Refused as refusal:
            # The reason only: never the query (it holds the openid) nor the body.
            log.warning("wechat request refused status=%s reason=%s", refusal.status, refusal.reason)
            return refusal.status, refusal.reason + "\n", _TEXT
        except DataError as exc:
            # As bot/guards.py for Flask views: a value the database cannot store came from the client.
            log.warning("refused data the database cannot store: %s", type(exc.orig).__name__)
            return 400, "请求中含有无法处理的数据。", _TEXT
        except (DatabaseBusy, OperationalError) as exc:
            if env is None or not (isinstance(exc, DatabaseBusy) or is_busy(exc)):
                raise
            # Another process held the database past its wait: nothing of this message was stored (its transaction
            # never began or was rolled back). Answered in time, so WeChat does not retry: the consumer is asked to.
            log.error("message not stored: the database stayed locked")
            return 200, self.webhook.seal(self.webhook.inbox.busy(env), env), _XML
        except Exception:
            if self.app.config.get("PROPAGATE_EXCEPTIONS") or self.app.testing:
                raise
            log.exception("webhook failed")
            return 500, "internal error\n", _TEXT
        if body == SUCCESS:
            return 200, body, _TEXT
        return 200, self.webhook.seal(body, env), _XML


def _query(query: str) -> dict[str, str]:
    """The query's parameters (the first of repeated ones, as Flask's request.args.get); a NUL anywhere is refused."""
    args: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
        if "\x00" in value or "\x00" in name:
            raise Refused(400, "NUL byte in the query")
        args.setdefault(name, value)
    return args


def init_app(app: Flask) -> None:
    """The webhook: content files (checked now), its handlers on the router and the blueprint (GET verification)."""
    replies.init_app(app)
    handlers.init_app(app)
    app.extensions["webhook"] = Webhook(app)
    app.register_blueprint(bp)


def endpoint(app: Flask, inner: Any) -> WebhookEndpoint:
    """The WSGI layer that answers POST /wechat before Flask (see WebhookEndpoint)."""
    return WebhookEndpoint(inner, app, app.extensions["webhook"])
