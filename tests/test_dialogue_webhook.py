"""The whole complaint through the real /wechat webhook, in plain and in safe (AES) mode."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from bot.db import get_db
from bot.models import DialogueState, Evidence, Follower, Lead, OutboxItem
from tests.leads_support import OFFLINE_COMPLAINT, PROMPT, ROOT, text
from tests.wechat_user import event_xml, make_wechat, new_id, sample


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_from_the_menu_to_a_ticket_and_progress(db_url, mode, caplog):
    caplog.set_level(logging.DEBUG)
    wx = make_wechat(db_url, mode)
    openid = f"o-wx-{mode}"
    assert text("steps.kind.prompt") in wx.post(event_xml(openid, "CLICK", "COMPLAIN")).content
    answers = [("1", "online"), *OFFLINE_COMPLAINT[1:]]
    for answer, step in answers:
        reply = wx.text(openid, answer).content
        assert PROMPT[step] in reply, (answer, reply)
        if step == "facts":
            photo = wx.post(sample("image.xml", openid)).content
            assert photo.startswith(text("control.photo_received", n=1, kind="投诉"))
    assert "12. 电话：13800138000" in reply  # their own phone in full, in their own chat
    msg_id = new_id()
    done = wx.text(openid, "确认", msg_id=msg_id).content
    again = wx.text(openid, "确认", msg_id=msg_id).content  # WeChat retries: the same answer, nothing twice
    assert done == again
    ticket = re.search(r"投诉已提交，编号 (\d{8}-\d{4})", done).group(1)
    with get_db(wx.app).scope() as s:
        [lead] = s.execute(select(Lead)).scalars().all()
        assert lead.ticket == ticket and lead.branch == "xiaolan" and lead.openid == openid
        assert s.execute(select(DialogueState)).scalars().all() == []
        [ev] = s.execute(select(Evidence)).scalars().all()
        assert ev.lead_id == lead.id and ev.media_id == "media_id"
        assert len(s.execute(select(OutboxItem).where(OutboxItem.kind == "fetch_evidence")).scalars().all()) == 1
        follower = s.execute(select(Follower).where(Follower.openid == openid)).scalar_one()
        assert follower.last_message_at is not None  # the 48-hour window for replies
    progress = wx.text(openid, f"进度 {ticket}").content
    assert f"编号：{ticket}（投诉）" in progress and "当前状态：已收到" in progress
    assert wx.text("o-someone-else", f"进度 {ticket}").content == text("progress.not_found", ticket=ticket)
    assert "13800138000" not in caplog.text  # shown to its owner, never logged
    wx.app.extensions["db"].engine.dispose()


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_odd_messages_in_the_middle_get_a_reask(db_url, mode):
    wx = make_wechat(db_url, mode)
    openid = f"o-odd-{mode}"
    wx.text(openid, "举报")
    for name in ("voice.xml", "video.xml", "link.xml", "shortvideo.xml"):
        reply = wx.post(sample(name, openid)).content
        assert text("steps.online.prompt_report") in reply, name
    assert wx.text(openid, "取消").content == text("control.cancelled")
    wx.app.extensions["db"].engine.dispose()


def _config_file(tmp_path, db_url) -> str:
    from tests.conftest import TEST_DATA_KEY
    from tests.wechat_user import APP_ID, TOKEN

    path = tmp_path / "two.toml"
    path.write_text(
        f'[app]\nsecret_key = "s"\ndata_key = "{TEST_DATA_KEY}"\npublic_url = "http://localhost"\n'
        f'[wechat]\napp_id = "{APP_ID}"\ntoken = "{TOKEN}"\nencoding_aes_key = ""\n'
        f'api_base_url = "http://127.0.0.1:9/cgi-bin/"\n[database]\nurl = "{db_url}"\n[scheduler]\nenabled = false\n',
        encoding="utf-8",
    )
    return str(path)


def test_two_server_processes_share_one_dialogue(db_url, tmp_path, system_clock):
    """Two `flask run` processes on one database; the consumer's messages alternate between them."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    from tests.outbox_support import free_port
    from tests.wechat_user import APP_ID, TOKEN, WeChat

    env = {**os.environ, "APP_CONFIG": _config_file(tmp_path, db_url)}
    flask = Path(sys.executable).with_name("flask")
    procs, urls = [], []
    try:
        for i in range(2):
            port = free_port()
            cmd = [str(flask), "--app", "bot", "run", "--port", str(port)]
            with (tmp_path / f"server{i}.log").open("wb") as log:  # the child keeps its own descriptor
                procs.append(subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(url + "/healthz", timeout=2).read()
                    break
                except OSError:
                    assert time.monotonic() < deadline, (tmp_path / "server0.log").read_text()
                    time.sleep(0.3)
        sides = [WeChat(url, TOKEN, APP_ID) for url in urls]
        for i, (answer, step) in enumerate(OFFLINE_COMPLAINT):
            assert PROMPT[step] in sides[i % 2].text("o-two", answer).content
        assert "投诉已提交，编号" in sides[1].text("o-two", "确认").content
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
