"""The benchmark's scenarios: each builds fresh requests for one round, for the app or for the floor."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from bench import wire
from bench.run import WECHAT

PER_ROUND = 40000  # more than a round can send, so no request is replayed
_ids = itertools.count(10**15)


def _texts(text: str, *, safe: bool, users: int = 500) -> list[dict]:
    return [
        wire.text_request(WECHAT, f"o_bench_user_{i % users:05d}", text, next(_ids), safe=safe)
        for i in range(PER_ROUND)
    ]


def keyword_text(state: dict, floor: bool) -> list[dict]:
    return _texts(state.get("text_keyword", "退货"), safe=True)


def keyword_text_plain(state: dict, floor: bool) -> list[dict]:
    return _texts(state.get("text_keyword", "退货"), safe=False)


def healthz(state: dict, floor: bool) -> list[dict]:
    return [wire.get_request("/wechat" if floor else "/healthz") for _ in range(PER_ROUND)]


SCENARIOS: dict[str, Callable[[dict, bool], list[dict]]] = {
    "keyword reply, safe": keyword_text,
    "keyword reply, plain": keyword_text_plain,
    "healthz": healthz,
}


def prepare(app_server, floor_server) -> dict:
    """Anything a scenario needs set up once per database (messages to retry, ...)."""
    return {}
