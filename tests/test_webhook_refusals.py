"""Everything WeChat does not send is refused with a 4xx, nothing is processed, and the next message is answered."""

from __future__ import annotations

import base64
import logging

import pytest
from sqlalchemy import func, select
from wechatpy.crypto import WeChatCrypto

from bot import clock
from bot.models import Follower, InboundMessage
from bot.models.webhook import WebhookNonce
from tests.wechat_user import APP_ID, TOKEN, WeChat, make_wechat, new_id, parse, recorded, signature, text_xml

OTHER_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"


@pytest.fixture(params=["plain", "safe"])
def wx(request, db_url):
    wechat = make_wechat(db_url, request.param)
    yield wechat
    wechat.app.extensions["db"].engine.dispose()


def counts(app) -> tuple[int, int, int]:
    recorded(app)
    with app.extensions["db"].scope() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (InboundMessage, WebhookNonce, Follower))


def refused_then_answered(wx: WeChat, result, status: int | tuple[int, ...]) -> None:
    """The refusal had the expected 4xx and changed nothing; an ordinary message right after is answered."""
    expected = status if isinstance(status, tuple) else (status,)
    assert result.status in expected, (result.status, result.body)
    assert "Traceback" not in result.body
    after = wx.text("oNextUser", "热线")
    assert after.status == 200 and after.content.startswith("消费者投诉举报热线")


def check(wx: WeChat, make, status) -> None:
    before = counts(wx.app)
    result = make()
    assert counts(wx.app) == before, "a refused request left a row behind"
    refused_then_answered(wx, result, status)


def test_bad_missing_and_other_token_signatures(wx):
    xml = text_xml("oAttacker", "12315")
    q = wx.query()
    check(wx, lambda: wx.post(xml, {**q, "signature": "0" * 40}), 403)
    check(wx, lambda: wx.post(xml, {k: v for k, v in wx.query().items() if k != "signature"}), 400)
    check(wx, lambda: wx.post(xml, {}, raw=True), 400)
    other = wx.query()
    other["signature"] = signature("someone-elses-token", other["timestamp"], other["nonce"])
    check(wx, lambda: wx.post(xml, other), 403)
    check(wx, lambda: wx.post(xml, wx.query(nonce="bad nonce]]>"), raw=True), 400)


def test_timestamps_outside_the_window(wx):
    now = clock.timestamp()
    for stale in (now - 301 - 60, now + 361, 0):
        check(wx, lambda s=stale: wx.post(text_xml("oLate", "hi"), wx.query(timestamp=str(s))), 403)
    check(wx, lambda: wx.post(text_xml("oLate", "hi"), wx.query(timestamp="12ab")), 400)
    fine = wx.post(text_xml("oThirtySeconds", "12315"), wx.query(timestamp=str(now - 30)))
    assert fine.status == 200 and fine.content.startswith("消费者投诉举报热线")


@pytest.mark.parametrize("first", ["12315", "投诉"], ids=["without-effect", "with-effect"])
def test_a_nonce_seen_before_with_another_message_is_a_replay(wx, first):
    body, captured = wx.envelope(text_xml("oVictim", first), wx.query())
    assert wx.post(body, captured, raw=True).status == 200
    other, _ = wx.envelope(text_xml("oVictim", "举报"), captured)
    # A captured query with a new body must not cause an effect. In plain mode the signature does not cover the body:
    # the stored nonce refuses it. In safe mode msg_signature covers the message: the signature refuses it, and no
    # nonce needs storing (the very same message under it is a retry, answered from its stored row).
    check(wx, lambda: wx.post(other, captured, raw=True), 403)
    assert (counts(wx.app)[1] == 0) == (wx.crypto is not None)  # nonces stored in plain mode only


def test_oversized_bodies_get_413_unread(wx):
    padding = "啊" * 30000  # about 90 KB of UTF-8
    check(wx, lambda: wx.post(text_xml("oBig", padding)), 413)
    q = wx.query()
    # A declared length over the limit is refused from the header alone.
    check(wx, lambda: WeChatResult(wx.send("POST", q, b"<xml/>" * 20000)), 413)


class WeChatResult:
    def __init__(self, pair):
        self.status, self.body = pair


@pytest.mark.parametrize(
    "body",
    [
        "<xml><ToUserName>unclosed",
        "not xml at all",
        "",
        "<other><MsgType>text</MsgType></other>",
        "<xml><FromUserName>o1</FromUserName></xml>",  # no MsgType
        "<xml><MsgType>text</MsgType><FromUserName>" + "o" * 65 + "</FromUserName></xml>",
        "<xml><MsgType>text</MsgType><FromUserName>o1</FromUserName><CreateTime>x</CreateTime></xml>",
        "<xml><MsgType>text</MsgType><FromUserName>o1</FromUserName><MsgId>" + "9" * 41 + "</MsgId></xml>",
        "<xml><MsgType>text</MsgType><FromUserName>o1</FromUserName><Content>&undefined;</Content></xml>",
        "<xml><MsgType>text</MsgType><FromUserName>o1</FromUserName><Content>&#0;</Content></xml>",
        "<xml>" + "<a>" * 5000 + "</a>" * 5000 + "</xml>",  # deep nesting within the size limit
        "<xml><MsgType>text</MsgType>" + "<a/>" * 3000 + "</xml>",  # too many siblings: refused before parsing
    ],
)
def test_malformed_messages_get_400(wx, body):
    check(wx, lambda: wx.post(body), 400)


@pytest.mark.parametrize(
    "body",
    [
        '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><xml><Content>&lol2;</Content></xml>',
        '<?xml version="1.0"?><!doctype xml SYSTEM "file:///etc/passwd"><xml><MsgType>text</MsgType></xml>',
        '<xml><!ENTITY x "y"><MsgType>text</MsgType></xml>',
        '<!DOCTYPE xml [<!ENTITY % ext SYSTEM "http://127.0.0.1:9/x.dtd"> %ext;]><xml/>',
    ],
)
def test_dtd_and_entities_get_400_before_parsing(wx, body):
    check(wx, lambda: wx.post(body), 400)


def test_non_utf8_body_gets_400(wx):
    body = text_xml("oLatin", "12315").encode().replace(b"oLatin", b"o\xff\xfe\xe9")
    check(wx, lambda: WeChatResult(wx.send("POST", wx.query(), body)), 400)


def test_encrypted_body_refused_by_a_plain_account(db_url):
    wx = make_wechat(db_url, "plain")
    body = "<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[abcd]]></Encrypt></xml>"
    check(wx, lambda: wx.post(body, {**wx.query(), "encrypt_type": "aes", "msg_signature": "x"}), 400)
    wx.app.extensions["db"].engine.dispose()


# ---------------------------------------------------------------- safe mode only


@pytest.fixture
def safe(db_url):
    wechat = make_wechat(db_url, "safe")
    yield wechat
    wechat.app.extensions["db"].engine.dispose()


def sealed_with(crypto: WeChatCrypto, wx: WeChat, xml: str, token: str = TOKEN):
    q = wx.query()
    encrypt = parse(crypto.encrypt_message(xml, q["nonce"], q["timestamp"]))["Encrypt"]
    body = f"<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    q.update(encrypt_type="aes", msg_signature=signature(token, q["timestamp"], q["nonce"], encrypt))
    return body, q


def test_safe_mode_refusals(safe):
    xml = text_xml("oSafe", "12315")
    body, q = safe.envelope(xml, safe.query())
    check(safe, lambda: safe.post(body, {**q, "msg_signature": "0" * 40}, raw=True), 403)
    check(safe, lambda: safe.post(body, {k: v for k, v in q.items() if k != "msg_signature"}, raw=True), 400)
    check(safe, lambda: safe.post(xml, safe.query(), raw=True), 400)  # plaintext to a safe-mode account
    wrong_app = sealed_with(WeChatCrypto(TOKEN, safe.aes_key, "wxsomeoneelse00001"), safe, text_xml("o1", "x"))
    check(safe, lambda: safe.post(*wrong_app, raw=True), 403)
    wrong_key = sealed_with(WeChatCrypto(TOKEN, OTHER_KEY, APP_ID), safe, text_xml("o2", "x"))
    check(safe, lambda: safe.post(*wrong_key, raw=True), (400, 403))
    for garbage in ("not base64 at all!!", base64.b64encode(b"short").decode(), base64.b64encode(b"x" * 64).decode()):
        q2 = safe.query()
        q2.update(encrypt_type="aes", msg_signature=signature(TOKEN, q2["timestamp"], q2["nonce"], garbage))
        garbage_body = f"<xml><Encrypt><![CDATA[{garbage}]]></Encrypt></xml>"
        check(safe, lambda b=garbage_body, qq=q2: safe.post(b, qq, raw=True), 400)
    no_encrypt = safe.query()
    no_encrypt.update(encrypt_type="aes", msg_signature="x")
    check(safe, lambda: safe.post("<xml><ToUserName>gh</ToUserName></xml>", no_encrypt, raw=True), 400)


def test_safe_mode_dtd_inside_the_ciphertext(safe):
    evil = '<!DOCTYPE x [<!ENTITY a "b">]><xml><MsgType>text</MsgType><FromUserName>o</FromUserName></xml>'
    check(safe, lambda: safe.post(evil), 400)
    check(safe, lambda: safe.post("<xml><unclosed>"), 400)


def test_mangled_messages_never_get_a_500(wx):
    """Signed requests whose bodies are random mutations of a real message: always a 2xx or a 4xx."""
    import random

    rng = random.Random(20261111)
    base = text_xml("oFuzz", "12315")
    statuses = set()
    for _ in range(150):
        chars = list(base)
        for _ in range(rng.randint(1, 6)):
            pos = rng.randrange(len(chars))
            action = rng.choice(("drop", "dup", "swap", "junk"))
            if action == "drop":
                del chars[pos]
            elif action == "dup":
                chars.insert(pos, chars[pos])
            elif action == "swap" and pos + 1 < len(chars):
                chars[pos], chars[pos + 1] = chars[pos + 1], chars[pos]
            else:
                chars.insert(pos, rng.choice("<>&;]![/\\x00\ud7ff\"'"))
        body = "".join(chars).replace("\\x00", "\x00")
        result = wx.post(body, wx.query(), raw=wx.crypto is None)
        statuses.add(result.status if result.status != 200 else 200)
        assert result.status < 500, body
    assert 400 in statuses
    assert wx.text("oAfterFuzz", "12315").content.startswith("消费者投诉举报热线")


def test_an_unexpected_failure_is_a_logged_500_and_the_worker_goes_on(db_url, monkeypatch, caplog):
    wx = make_wechat(db_url, "safe")
    wx.app.testing = False  # production: the endpoint answers instead of propagating
    inbox = wx.app.extensions["webhook"].inbox

    def broken(env):
        raise RuntimeError("database went away")

    with monkeypatch.context() as patch:
        patch.setattr(inbox, "answer", broken)
        with caplog.at_level(logging.ERROR):
            failed = wx.post(text_xml("oUnlucky", "你好", msg_id=new_id()))
    assert failed.status == 500 and failed.body == "internal error\n"
    assert "webhook failed" in caplog.text and "oUnlucky" not in caplog.text
    answered = wx.post(text_xml("oUnlucky", "你好", msg_id=new_id()))  # the next message is served as usual
    assert answered.status == 200 and answered.reply["MsgType"] == "text"
    wx.app.extensions["db"].engine.dispose()


def test_the_query_is_read_like_flask_reads_it_and_a_nul_is_refused_either_way():
    from urllib.parse import parse_qsl

    from bot.wechat.protocol import Refused
    from bot.wechat.views import _query

    plain = "signature=ab12&timestamp=1700000000&nonce=123456&openid=oUser_1-x&encrypt_type=aes&msg_signature=cd34"
    assert _query(plain) == dict(parse_qsl(plain))  # WeChat's own queries: the plain split
    assert _query("nonce=1&nonce=2&empty=&bare") == {"nonce": "1", "empty": "", "bare": ""}  # the first one wins
    assert _query("q=%E5%8F%8C11+x&q=later") == {"q": "双11 x"}  # escapes: unquoted as before
    for hostile in ("nonce=1\x00&timestamp=2", "nonce=%00", "a\x00=1", "x=%2500&y=%00"):
        with pytest.raises(Refused) as refused:
            _query(hostile)
        assert refused.value.status == 400


def test_repeated_elements_are_gathered_in_linear_time():
    """Up to the limit, repeated siblings become one list, each appended in place (no copy per repeat)."""
    from bot.wechat.protocol import MAX_ELEMENTS, Refused, parse_xml

    many = parse_xml("<xml><MsgType>event</MsgType>" + "<Item><Id>1</Id></Item>" * 400 + "</xml>")
    assert len(many["Item"]) == 400 and many["Item"][-1] == {"Id": "1"}
    with pytest.raises(Refused, match="too many XML elements"):
        parse_xml("<xml>" + "<a/>" * (2 * MAX_ELEMENTS + 1) + "</xml>")
