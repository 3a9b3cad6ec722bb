"""Every database wait is bounded: with another process holding SQLite's write lock, a message with an effect gets a
short "send it again" reply in time (nothing of it stored), a keyword reply is answered at once (it writes nothing
before its answer), and /healthz a 503 JSON within 2 s."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from sqlalchemy import make_url, select

from bot.db import get_db
from bot.models import DialogueState, InboundMessage
from bot.wechat.replies import phrase
from tests.wechat_user import make_wechat, new_id, recorded, text_xml

# Another process on the same file: a long transaction (SQLite's own lock), or a hung `flask` command that holds the
# app's writer lock (the file lock beside the database) without having begun.
HOLDER = """
import fcntl, sqlite3, sys, time
path, how = sys.argv[1], sys.argv[2]
if how == "transaction":
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
else:
    fh = open(path + ".write-lock", "a")
    fcntl.flock(fh, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(30)
"""


@pytest.mark.wall_clock
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("how", ["transaction", "writer-lock"])
def test_a_held_write_lock_gets_a_busy_reply_in_time_and_nothing_half_stored(db_url, how):
    wx = make_wechat(db_url, "safe")
    path = make_url(db_url).database
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, path, how], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        keyword = wx.post(text_xml("oBusy", "12315", msg_id=new_id()))
        assert time.monotonic() - started < 1.0 and "消费者投诉举报热线" in keyword.content
        started = time.monotonic()
        answer = wx.text("oBusy", "投诉")
        took = time.monotonic() - started
        assert answer.status == 200 and took < 4.5  # WeChat gives up after 5 s
        with wx.app.app_context():
            assert answer.content == phrase(wx.app, "busy")
        started = time.monotonic()
        health = wx.app.test_client().get("/healthz")
        assert health.status_code == 503 and time.monotonic() - started < 2.5
        assert health.json["database"] in ("locked", "timeout")
    finally:
        holder.kill()
        holder.wait(timeout=10)
        holder.stdout.close()
    recorded(wx.app)
    with get_db(wx.app).scope() as s:
        stored = s.scalars(select(InboundMessage.reply).where(InboundMessage.openid == "oBusy")).all()
        assert len(stored) == 1 and "消费者投诉举报热线" in stored[0]  # the keyword's record, written afterwards
        assert s.get(DialogueState, "oBusy") is None  # the complaint was not half started
    assert "消费者投诉举报热线" in wx.text("oBusy", "12315").content  # once the holder is gone, all is as before
    assert wx.app.test_client().get("/healthz").status_code == 200
