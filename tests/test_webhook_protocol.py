"""The webhook's protocol: verification, Tencent's crypto vectors, every published sample in plain and safe mode."""

from __future__ import annotations

import json
import logging
import re

import pytest
from sqlalchemy import func, select

from bot.models import InboundMessage
from bot.wechat.protocol import Cipher, Refused
from bot.wechat.replies import phrase
from tests.wechat_user import SAMPLES, TOKEN, WeChat, help_reply, make_wechat, recorded, sample, signature

SAMPLE_FILES = sorted(p.name for p in (SAMPLES / "messages").glob("*.xml"))


@pytest.fixture(params=["plain", "safe"])
def wx(request, db_url):
    wechat = make_wechat(db_url, request.param)
    yield wechat
    wechat.app.extensions["db"].engine.dispose()


def rows(app) -> int:
    recorded(app)
    with app.extensions["db"].scope() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage))


# ---------------------------------------------------------------- GET verification


def test_verification_echoes_echostr_verbatim(wx):
    q = wx.query()
    status, body = wx.send("GET", {**q, "echostr": "5837397520626011226 with spaces&é"})
    assert (status, body) == (200, "5837397520626011226 with spaces&é")


@pytest.mark.parametrize(
    "change",
    [
        {"signature": "0" * 40},
        {"signature": ""},
        {"timestamp": ""},
        {"nonce": ""},
        {"echostr": None},
    ],
)
def test_verification_refuses_bad_or_missing_signature(wx, change):
    q = {**wx.query(), "echostr": "hello"}
    for key, value in change.items():
        if value is None:
            q.pop(key)
        else:
            q[key] = value
    status, body = wx.send("GET", q)
    assert 400 <= status < 500 and "hello" not in body


def test_verification_refuses_another_tokens_signature(wx):
    q = {**wx.query(), "echostr": "hello"}
    q["signature"] = signature("another-token", q["timestamp"], q["nonce"])
    assert wx.send("GET", q)[0] == 403


# ---------------------------------------------------------------- Tencent's crypto vectors


def _vectors(name: str) -> dict:
    return json.loads((SAMPLES / "crypto" / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["tencent_mp_sample_decrypt.json", "wechatpy_work_crypto.json"])
def test_decrypts_published_vectors(name):
    v = _vectors(name)
    cipher = Cipher(v["token"], v["encoding_aes_key"], v["app_id"])
    for case in v["decrypt"]:
        plain = cipher.decrypt(case["encrypt"], case["msg_signature"], case["timestamp"], case["nonce"])
        for fragment in case["plaintext_contains"]:
            assert fragment in plain
        with pytest.raises(Refused) as refused:
            cipher.decrypt(case["encrypt"], "0" * 40, case["timestamp"], case["nonce"])
        assert refused.value.status == 403


def test_tencent_vector_refused_for_another_appid():
    v = _vectors("tencent_mp_sample_decrypt.json")
    case = v["decrypt"][0]
    cipher = Cipher(v["token"], v["encoding_aes_key"], "wxsomeoneelse00001")
    with pytest.raises(Refused) as refused:
        cipher.decrypt(case["encrypt"], case["msg_signature"], case["timestamp"], case["nonce"])
    assert refused.value.status == 403


@pytest.mark.parametrize("name", ["tencent_java_sample_encrypt.json", "wechatpy_work_crypto.json"])
def test_encrypts_like_published_vectors(name):
    v = _vectors(name)
    cipher = Cipher(v["token"], v["encoding_aes_key"], v["app_id"])
    for case in v["encrypt"]:
        timestamp, nonce = case.get("timestamp", v.get("timestamp")), case.get("nonce", v.get("nonce"))
        sealed = cipher.encrypt(case["plaintext"], nonce, timestamp, random_prefix=case["random"])
        assert f"<Encrypt><![CDATA[{case['encrypt']}]]></Encrypt>" in sealed
        expected_signature = case.get("msg_signature") or signature(v["token"], timestamp, nonce, case["encrypt"])
        assert f"<MsgSignature><![CDATA[{expected_signature}]]></MsgSignature>" in sealed


# ---------------------------------------------------------------- every published sample, plain and safe


def expected_reply(wx: WeChat, name: str) -> str | None:
    """The text the account should answer to a sample (None: `success`)."""
    app = wx.app
    if name in ("event_view.xml", "event_location.xml", "event_unsubscribe.xml") or "jobfinish" in name:
        return None
    if "subscribe" in name:
        return phrase(app, "welcome")
    if name == "event_scan.xml":
        return phrase(app, "welcome_back")
    if name in ("text.xml", "variant_werobot_text.xml", "variant_werobot_voice_recognition.xml", "event_click.xml"):
        said = re.search(r"<(?:Content|Recognition)><!\[CDATA\[(.*?)\]\]>", sample(name))
        return help_reply(app, said.group(1) if said else "")
    return phrase(app, "media")


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_every_sample_gets_its_reply(wx, name):
    xml = sample(name, openid="oSampleUser0001")
    result = wx.post(xml)
    assert result.status == 200
    expected = expected_reply(wx, name)
    if expected is None:
        assert result.body == "success"
    else:
        assert result.reply["MsgType"] == "text"
        assert result.reply["Content"] == expected
        assert result.reply["ToUserName"] == "oSampleUser0001"
        assert result.reply["FromUserName"] == re.search(r"<ToUserName><!\[CDATA\[(.*?)\]\]>", xml)[1]
    assert rows(wx.app) == 1


def test_unknown_type_and_event_get_success_and_a_log_line(wx, caplog):
    caplog.set_level(logging.INFO, logger="bot.wechat")
    xml = sample("text.xml").replace("<![CDATA[text]]>", "<![CDATA[miniprogrampage]]>")
    assert wx.post(xml).body == "success"
    xml = sample("event_click.xml").replace("<![CDATA[CLICK]]>", "<![CDATA[user_enter_tempsession]]>")
    assert wx.post(xml).body == "success"
    logged = [r.getMessage() for r in caplog.records if "unhandled message" in r.getMessage()]
    assert any("miniprogrampage" in line for line in logged)
    assert any("user_enter_tempsession" in line for line in logged)
    assert wx.text("oAfterUnknown", "双11").status == 200


def test_safe_reply_is_encrypted_and_signed_for_the_request(db_url):
    wx = make_wechat(db_url, "safe")
    q = wx.query()
    result = wx.post(sample("text.xml"), q)
    assert "<Encrypt>" in result.body and "this is a test" not in result.body
    assert result.reply["Content"] == help_reply(
        wx.app, "this is a test"
    )  # decrypted with msg_signature checked by wechatpy
    assert TOKEN not in result.body
    wx.app.extensions["db"].engine.dispose()


def test_compatible_mode_plaintext_beside_encrypt_in_plain_account(db_url):
    """A plain-mode account receiving a compatible-mode body uses the plaintext fields."""
    wx = make_wechat(db_url, "plain")
    xml = sample("text.xml").replace("</xml>", "<Encrypt><![CDATA[bm90IHVzZWQ=]]></Encrypt></xml>")
    result = wx.post(xml, {**wx.query(), "encrypt_type": "aes", "msg_signature": "0" * 40})
    assert result.status == 200 and result.reply["Content"] == help_reply(wx.app, "this is a test")
    wx.app.extensions["db"].engine.dispose()


def test_compatible_mode_body_in_safe_account(db_url):
    """A safe-mode account receiving plaintext and <Encrypt> together trusts only the encrypted part."""
    wx = make_wechat(db_url, "safe")
    q = wx.query()
    body, q = wx.envelope(sample("text.xml", openid="oCompat"), q)
    forged = "<ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[oForged]]></FromUserName>"
    body = body.replace("<ToUserName><![CDATA[gh_test]]></ToUserName>", forged + "<MsgType>text</MsgType>")
    result = wx.post(body, q, raw=True)
    assert result.status == 200 and result.reply["ToUserName"] == "oCompat"
    wx.app.extensions["db"].engine.dispose()
