"""The peers: other ways to build this webhook in Python, served like the app (bench/run.py measures them in the
same run, on the same requests, and checks every reply they give).

- `wechatpy_app`: the bare wechatpy webhook of its documentation, in Flask: check the signature, decrypt, parse,
  answer a text reply, encrypt. No database: no de-duplication of retries, no record of the message.
- `werobot_session` / `werobot_plain`: WeRoBot 1.13.1 answering every text with a text reply, with its default
  session (SQLite, one row per user read and written on each message) and with the session off.
"""

from __future__ import annotations

import os

from flask import Flask, request
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature
from werobot import WeRoBot
from werobot.session.sqlitestorage import SQLiteStorage

TOKEN = os.environ.get("PEER_TOKEN", "bench-token")
APP_ID = os.environ.get("PEER_APP_ID", "wxbench000000000001")
KEY = os.environ.get("PEER_AES_KEY", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
ANSWER = "全国12315平台：https://www.12315.cn ，也可以拨打12315热线。"

wechatpy_app = Flask(__name__)
_crypto = WeChatCrypto(TOKEN, KEY, APP_ID)


@wechatpy_app.route("/wechat", methods=["GET", "POST"])
def wechat() -> tuple[str, int] | str:
    args = request.args
    try:
        check_signature(TOKEN, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
        xml = _crypto.decrypt_message(request.data, args["msg_signature"], args["timestamp"], args["nonce"])
    except (InvalidSignatureException, KeyError):
        return "", 403
    msg = parse_message(xml)
    reply = create_reply(ANSWER if msg.type == "text" else "", msg)
    return _crypto.encrypt_message(reply.render(), args["nonce"], args["timestamp"])


def _robot(session: bool) -> object:
    storage = SQLiteStorage(os.environ.get("PEER_SESSION_DB", "werobot_session.sqlite3")) if session else None
    robot = WeRoBot(token=TOKEN, app_id=APP_ID, encoding_aes_key=KEY, enable_session=session, session_storage=storage)

    @robot.text
    def answer(message, session=None):
        if session is not None:
            session["last"] = message.content  # what a bot keeps in its session: the user's last words
        return ANSWER

    return robot.wsgi


def __getattr__(name: str) -> object:
    """`werobot_session` and `werobot_plain`, built when gunicorn asks (the session opens its SQLite file)."""
    if name in ("werobot_session", "werobot_plain"):
        return _robot(session=name == "werobot_session")
    raise AttributeError(name)
