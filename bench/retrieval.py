"""The search engine's cost in a worker: cold start with the engine loaded, memory, and time per question.

Usage: .venv/bin/python bench/retrieval.py [--runs 5] [--questions tests/data/questions.toml] [--content DIR]

Each run is a fresh Python process on the shipped config (SQLite in a temporary directory): `import bot`,
`create_app()`, the first free question answered through the router (which loads the lexicon's index: every
notice cut into terms), then the same process's RSS. Reported: the median of the runs for each phase, the RSS, and
what the engine adds to it (RSS after the first answer minus RSS before it); then, in this process, the time per
question over a questions file (each asked 20 times: p50 and p99) and the index's build time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
sys.path.insert(0, {root!r})
import bot
from bot.db import get_db, utcnow
from bot.wechat.messages import Context, Incoming
from bot.wechat.router import get_router
t1 = time.perf_counter()
app = bot.create_app()
t2, c2 = time.perf_counter(), time.process_time()
def rss():
    return int([l for l in open("/proc/self/status") if l.startswith("VmRSS:")][0].split()[1]) / 1024
before = rss()
with app.app_context(), get_db(app).scope() as session:
    msg = Incoming(openid="oBench", type="text", content="网上买的衣服能退吗", msg_id="1")
    reply = get_router(app).route(Context(msg=msg, session=session, app=app, now=utcnow()))
assert "/notices/" in reply.content, reply
t3, c3 = time.perf_counter(), time.process_time()
print(json.dumps({{"import": t1 - t0, "create_app": t2 - t1, "first_answer": t3 - t2, "total": t3 - t0,
                  "cpu": c3 - c0, "cpu_answer": c3 - c2, "rss_mb": rss(), "engine_mb": rss() - before}}))
"""


def cold(runs: int, content: Path) -> dict[str, float]:
    """Medians over fresh interpreters of each phase, the RSS and the engine's share of it."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        text = (ROOT / "config.toml").read_text(encoding="utf-8")
        text = text.replace('url = "sqlite:///instance/bot.db"', f'url = "sqlite:///{tmp}/bot.db"')
        text = text.replace('content_dir = "content/notices"', f'content_dir = "{content}"')
        config.write_text(text.replace("enabled = true", "enabled = false"), encoding="utf-8")
        env = {**os.environ, "APP_CONFIG": str(config)}
        code = CHILD.format(root=str(ROOT))
        results = []
        for _ in range(runs):
            done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def warm(questions: Path, content: Path, repeat: int = 20) -> dict[str, float]:
    """Build time of the index and p50/p99 milliseconds per question, in this process."""
    from notices import NoticeStore
    from notices.retrieval.evaluate import read_questions
    from notices.retrieval.lexicon import load

    store = NoticeStore(content, interval=3600, lexicon=load(ROOT / "content" / "synonyms.toml"))
    store.refresh(force=True)
    started = time.process_time()
    store.search("退货")
    build = time.process_time() - started
    texts = [q.text for q in read_questions(questions)]
    times = []
    for _ in range(repeat):
        for text in texts:
            started = time.perf_counter()
            store.search(text, limit=5)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "notices": len(store.all()),
        "questions": len(texts),
        "build_s": build,
        "p50_ms": times[len(times) // 2],
        "p99_ms": times[int(len(times) * 0.99)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    default = ROOT / "tests" / "data" / "questions.toml"
    parser.add_argument(
        "--questions", type=Path, default=default if default.exists() else default.with_stem("questions_dev")
    )
    parser.add_argument("--content", type=Path, default=ROOT / "content" / "notices", help="the notices directory")
    args = parser.parse_args()
    c = cold(args.runs, args.content.resolve())
    w = warm(args.questions, args.content)
    print(f"| cold start, import to first answered question (median of {args.runs}) | {c['total']:.2f} s |")
    phases = f"import {c['import']:.2f} s, create_app {c['create_app']:.2f} s, first answer {c['first_answer']:.2f} s"
    print(f"| of which: {phases} | |")
    print(f"| CPU time of the whole cold start (the machine's load aside) | {c['cpu']:.2f} s |")
    print(
        f"| of which the first answer (lexicon, notices rendered and indexed, the answer) | {c['cpu_answer']:.2f} s |"
    )
    print(f"| RSS after the first answer | {c['rss_mb']:.0f} MB |")
    print(f"| of which the engine (RSS after minus before the first answer) | {c['engine_mb']:.1f} MB |")
    print(f"| index build, CPU time ({w['notices']} notices, rendered already) | {w['build_s'] * 1000:.0f} ms |")
    print(f"| per question ({w['questions']} questions x 20): p50 / p99 | {w['p50_ms']:.2f} / {w['p99_ms']:.2f} ms |")


if __name__ == "__main__":
    main()
