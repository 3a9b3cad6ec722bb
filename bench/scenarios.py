"""The benchmark's scenarios: each builds fresh requests for one round, for the app or for the floor."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bench import wire
from bench.run import WECHAT

PER_ROUND = 30000  # more than a round can send, so no request is replayed
_ids = itertools.count(10**15)


def _texts(text: str, *, safe: bool, users: int = 500, prefix: str = "o_bench_user_") -> list[dict]:
    return [
        wire.text_request(WECHAT, f"{prefix}{i % users:05d}", text, next(_ids), safe=safe) for i in range(PER_ROUND)
    ]


def keyword_text(state: dict, floor: bool) -> list[dict]:
    """A keyword with a text reply (replies.toml), safe mode."""
    return _texts("12315", safe=True)


def keyword_text_plain(state: dict, floor: bool) -> list[dict]:
    """The same in plain mode (the app is configured for safe mode; plain requests are refused) - skipped."""
    return _texts("12315", safe=False)


def keyword_news(state: dict, floor: bool) -> list[dict]:
    """A keyword answered with a one-article news card (a notice)."""
    return _texts("双11", safe=True)


def dialogue_step(state: dict, floor: bool) -> list[dict]:
    """One step of the complaint dialogue: 投诉 from a user with no dialogue yet (each user once)."""
    start = next(_ids)
    return [
        wire.text_request(WECHAT, f"o_bench_dlg_{start}_{i}", "投诉", next(_ids), safe=True) for i in range(PER_ROUND)
    ]


def retry(state: dict, floor: bool) -> list[dict]:
    """A retry of an already-answered message: same sender and MsgId, fresh nonce and timestamp."""
    sent = state["answered"]
    return [
        wire.text_request(WECHAT, openid, "12315", msgid, safe=True)
        for openid, msgid in itertools.islice(itertools.cycle(sent), PER_ROUND)
    ]


def notice_page(state: dict, floor: bool) -> list[dict]:
    return [wire.get_request("/notices/2022-double11-tips") for _ in range(PER_ROUND)]


def notice_index(state: dict, floor: bool) -> list[dict]:
    return [wire.get_request("/notices/") for _ in range(PER_ROUND)]


def search(state: dict, floor: bool) -> list[dict]:
    return [wire.get_request("/notices/search?q=%E9%80%80%E8%B4%A7") for _ in range(PER_ROUND)]  # 退货


SCENARIOS: dict[str, Callable[[dict, bool], list[dict]]] = {
    "keyword reply (text), safe": keyword_text,
    "keyword news card, safe": keyword_news,
    "dialogue step, safe": dialogue_step,
    "retried message, safe": retry,
    "notice page": notice_page,
    "notice index": notice_index,
    "search": search,
}


def prepare(app_server, floor_server) -> dict:
    """Send 2,000 messages once so that the retry scenario has answered messages to repeat; warm the floor up alike.

    Without the floor's warm-up the first scenario's floor was measured on cold workers, at a third to half of its
    later rate, which made that scenario's ratio look two to three times better than it was.
    """
    answered = [(f"o_bench_retry_{i:05d}", next(_ids)) for i in range(2000)]
    requests = [wire.text_request(WECHAT, o, "12315", m, safe=True) for o, m in answered]
    path = Path(app_server.log.name).with_name("prepare.jsonl")
    wire.write(str(path), requests)
    loadgen = str(Path(__file__).with_name("loadgen.py"))
    subprocess.run(
        [sys.executable, loadgen, str(path), "--port", str(app_server.port), "--seconds", "60"],
        check=True,
        capture_output=True,
    )
    if floor_server is None:  # bench/profile_server.py: no floor
        return {"answered": answered}
    warm = [wire.text_request(WECHAT, o, "12315", next(_ids), safe=True) for o, _ in answered]
    warm_path = path.with_name("warm-floor.jsonl")
    wire.write(str(warm_path), warm)
    subprocess.run(
        [sys.executable, loadgen, str(warm_path), "--port", str(floor_server.port), "--seconds", "60"],
        check=True,
        capture_output=True,
    )
    return {"answered": answered}
