"""A gunicorn worker killed with SIGKILL right after a burst: nothing with an effect is lost, and of the records of
keyword replies (written after their answers, bot/db/later.py) at most the last second's.

The web process runs as deploy/ describes it (deploy/gunicorn.conf.py, the production config) on a SQLite file.
Keyword replies from many senders are interleaved with the steps of complaint dialogues, follows and topic
subscriptions; the worker is killed as soon as the last answer arrives. A graceful stop afterwards loses nothing.
About 10 s.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.leads_support import OFFLINE_COMPLAINT, PROMPT
from tests.production_support import AES_KEY, Fleet, production_config
from tests.wechat_user import APP_ID, TOKEN, WeChat, new_id, text_xml

KEYWORDS = 600  # keyword replies, each from its own sender
DIALOGUES = 12  # consumers answering the complaint dialogue's questions during the burst
FOLLOWS = 6  # consumers who follow the account, then subscribe to a topic, during the burst


def worker_pid(master: int) -> int:
    """The gunicorn worker of a one-worker master."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def test_a_killed_worker_loses_no_effect_and_at_most_the_last_second_of_keyword_records(
    tmp_path, standin, sqlite_template, system_clock
):
    path = tmp_path / "bot.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    config = production_config(
        tmp_path, standin.url, database={"allow_sqlite_in_production": True}, scheduler={"enabled": False}
    )
    fleet = Fleet(tmp_path, config, url)
    try:
        base = fleet.web("web")
        wx = WeChat(base, TOKEN, APP_ID, AES_KEY)
        talkers = [f"oTalker{n:03d}" for n in range(DIALOGUES)]
        for openid in talkers:
            assert PROMPT["online"] in wx.text(openid, "投诉").content

        answered: dict[str, float] = {}  # keyword sender -> when its answer arrived
        durable: list[str] = []  # dedupe keys of the messages with an effect that were answered
        lock = threading.Lock()

        def keyword(n: int) -> None:
            openid = f"oKeyword{n:04d}"
            reply = wx.text(openid, "12315")
            assert reply.content.startswith("消费者投诉举报热线"), reply.content
            with lock:
                answered[openid] = time.monotonic()

        def dialogue(openid: str) -> None:
            for answer, step in OFFLINE_COMPLAINT[1:3]:  # "2" (offline), then the business's name
                msg_id = new_id()
                assert PROMPT[step] in wx.post(text_xml(openid, answer, msg_id=msg_id)).content
                with lock:
                    durable.append(f"{openid}:{msg_id}")

        def follow(n: int) -> None:
            openid = f"oFollower{n:02d}"
            assert wx.event(openid, "subscribe").content.startswith("感谢关注")
            msg_id = new_id()
            assert "已为您订阅“双11”提醒" in wx.post(text_xml(openid, "订阅 双11", msg_id=msg_id)).content
            with lock:
                durable.append(f"{openid}:{msg_id}")

        jobs = [lambda n=n: keyword(n) for n in range(KEYWORDS)]
        step = KEYWORDS // (DIALOGUES + FOLLOWS)
        for i, job in enumerate(
            [*(lambda o=o: dialogue(o) for o in talkers), *(lambda n=n: follow(n) for n in range(FOLLOWS))]
        ):
            jobs.insert(i * step + step // 2, job)  # spread through the burst
        with ThreadPoolExecutor(8) as pool:
            for future in [pool.submit(job) for job in jobs]:
                future.result()
        killed_at = time.monotonic()
        os.kill(worker_pid(fleet.procs["web"].pid), signal.SIGKILL)

        engine = create_engine(url)
        with engine.connect() as conn:
            keys = set(conn.execute(text("SELECT dedupe_key FROM inbound_message")).scalars())
            steps = dict(conn.execute(text("SELECT openid, step FROM dialogue_state")).all())
            followers = dict(
                conn.execute(text("SELECT openid, topics FROM follower WHERE openid LIKE 'oFollower%'")).all()
            )
            keyword_rows = set(
                conn.execute(text("SELECT openid FROM inbound_message WHERE openid LIKE 'oKeyword%'")).scalars()
            )
        engine.dispose()
        assert len(durable) == 2 * DIALOGUES + FOLLOWS and set(durable) <= keys  # every answer with an effect
        assert all(steps[openid] == OFFLINE_COMPLAINT[2][1] for openid in talkers)  # each dialogue at its step
        assert len(followers) == FOLLOWS and all("double11" in topics for topics in followers.values())
        missing = {openid: killed_at - at for openid, at in answered.items() if openid not in keyword_rows}
        print(f"\n{len(answered)} keyword replies, {len(missing)} records lost with the worker")
        assert all(age <= 1.0 for age in missing.values()), sorted(missing.values())[-5:]
        assert len(answered) == KEYWORDS
        # gunicorn starts another worker, which answers as before; a graceful stop writes what its queue holds.
        fleet.wait_for("web", lambda: _answers(wx), 30)
        late = [f"oLate{n:03d}" for n in range(50)]
        for openid in late:
            assert wx.text(openid, "12315").content.startswith("消费者投诉举报热线")
    finally:
        codes = fleet.stop()
    assert codes == {"web": 0}, codes
    engine = create_engine(url)
    with engine.connect() as conn:
        written = conn.execute(text("SELECT count(*) FROM inbound_message WHERE openid LIKE 'oLate%'")).scalar()
    engine.dispose()
    assert written == len(late)


def _answers(wx: WeChat) -> bool:
    try:
        return wx.text("oAfterwards", "12315").content.startswith("消费者投诉举报热线")
    except OSError:
        return False
