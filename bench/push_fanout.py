"""Push fan-out benchmark: N template messages through a stand-in of the WeChat API answering each call in 20 ms.

Usage: python bench/push_fanout.py [--count 100000] [--delay 0.02] [--db postgresql://...] [--rate 3000]
       [--concurrency 64] [--profile bench/profiles/name]
Three processes: this one (followers, the push, the checks), the stand-in (bench/fast_standin.py: asyncio, keep-alive,
counts in memory) and the sender, a `flask pushes run <id>` process whose resident memory is sampled from /proc while
it works. At the end every recipient must have exactly one message at the stand-in (template messages de-duplicated
by client_msg_id, as the platform does) and every delivery be `sent`. With --profile, py-spy samples the sender and
its top functions are written to <name>.txt. Prints one JSON object: count, seconds, messages_per_second,
rss_start_mb, rss_end_mb, rss_max_mb (the highest RSS sampled while sending), rss_peak_mb (VmHWM, the start-up
included), verified_exactly_once.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from bench.profile_top import summarize  # noqa: E402
from bot import create_app  # noqa: E402
from bot.db import get_db, utcnow  # noqa: E402
from bot.models import Delivery, Follower, Push  # noqa: E402
from tests.conftest import make_config  # noqa: E402
from tests.pushes_helpers import FAST, notices_config, schedule, write_config  # noqa: E402


def add_followers(app, count: int, folder: Path) -> tuple[list[str], Path]:
    """count followers in the app's database, inserted in chunks; also written to a file for the stand-in."""
    openids = [f"oBench{i:07d}" for i in range(count)]
    now = utcnow()
    with get_db(app).scope() as s:
        for start in range(0, count, 5000):
            rows = [
                {"openid": o, "subscribed": True, "subscribed_at": now, "last_message_at": now}
                for o in openids[start : start + 5000]
            ]
            s.execute(insert(Follower), [r | {"tags": [], "topics": [], "created_at": now} for r in rows])
    users = folder / "users.txt"
    users.write_text("\n".join(openids) + "\n")
    return openids, users


class StandinProcess:
    """bench/fast_standin.py in its own process on a free loopback port."""

    def __init__(self, delay: float, users: Path, log: Path) -> None:
        script = str(ROOT / "bench" / "fast_standin.py")
        cmd = [sys.executable, script, "--delay", str(delay), "--users", str(users)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            raise SystemExit(f"the stand-in did not start: {line!r} (see {log})")
        self.url = f"http://127.0.0.1:{int(line.split()[-1])}/cgi-bin/"

    def stats(self) -> dict:
        with urllib.request.urlopen(self.url + "_stats", timeout=30) as answer:  # noqa: S310 (http, loopback)
            return json.loads(answer.read())

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB."""
    values = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def start_profile(pid: int, out: Path) -> subprocess.Popen:
    """py-spy sampling the sender until it exits (raw collapsed stacks, summarised afterwards)."""
    spy = str(Path(sys.executable).parent / "py-spy")
    cmd = [spy, "record", "-p", str(pid), "-f", "raw", "-o", str(out), "-r", "50"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_sender(config: Path, push_id: int, profile: Path | None) -> dict:
    """`flask pushes run` in its own process; its time and memory."""
    env = {**os.environ, "APP_CONFIG": str(config), "PYTHONPATH": str(ROOT)}
    flask = str(Path(sys.executable).parent / "flask")
    log = config.parent / "sender.log"
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [flask, "--app", "bot", "pushes", "run", str(push_id)], cwd=ROOT, env=env, stdout=out, stderr=out
        )
        spy = start_profile(proc.pid, profile.with_suffix(".raw")) if profile else None
        samples, first_batch, cpu = [], None, 0.0  # RSS "at start": after the first batch (imports, app loaded)
        from_first = 0
        while proc.poll() is None:
            try:
                sample = rss_mb(proc.pid)
                if sample[0] > 0:  # an exited process (a zombie) has no VmRSS
                    samples.append(sample)
                    cpu = cpu_seconds(proc.pid)
            except (FileNotFoundError, ProcessLookupError):
                break
            if first_batch is None and samples and "进度" in log.read_text(errors="replace"):
                first_batch, from_first = samples[-1][0], len(samples) - 1
            time.sleep(0.5)
    seconds = time.perf_counter() - started
    if spy is not None:
        spy.wait(timeout=60)
    lines = log.read_text().splitlines()
    if proc.returncode != 0:
        raise SystemExit("sender failed:\n" + "\n".join(lines[-20:]))
    started_rss = first_batch or (samples[0][0] if samples else 0.0)
    return {
        "seconds": seconds,
        "rss_start_mb": started_rss,
        "rss_end_mb": samples[-1][0] if samples else 0.0,
        "rss_peak_mb": max((h for _, h in samples), default=0.0),  # VmHWM: the start-up's peak included
        "rss_max_mb": max((r for r, _ in samples[from_first:]), default=0.0),  # the highest RSS seen while sending
        "cpu_seconds": cpu,
        "last_line": lines[-1] if lines else "",
    }


def bench_config(db_url: str, standin_url: str, tmp: Path, args: argparse.Namespace) -> dict:
    """The sender's settings: the test base, the stand-in's URL, fast push settings at the benchmark's rate."""
    pushes = FAST | {
        "rate_per_second": args.rate,
        "concurrency": args.concurrency,
        "batch_size": 1000,
        "claim_timeout_seconds": 120,
    }
    wechat = {"api_base_url": standin_url, "timeout": 10.0}
    return make_config(db_url, wechat=wechat, pushes=pushes, notices=notices_config(tmp))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--delay", type=float, default=0.02, help="seconds the stand-in takes to answer each call")
    parser.add_argument("--db", default="", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--rate", type=float, default=3000, help="[pushes] rate_per_second")
    parser.add_argument("--concurrency", type=int, default=64, help="[pushes] concurrency")
    parser.add_argument("--profile", default="", help="profile the sender with py-spy into <this>.raw and .txt")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="push-bench-"))
    app = create_app(bench_config(args.db or f"sqlite:///{tmp / 'bot.db'}", "http://127.0.0.1:9/", tmp, args))
    openids, users = add_followers(app, args.count, tmp)
    standin = StandinProcess(args.delay, users, tmp / "standin.log")
    try:
        cfg = bench_config(str(app.extensions["db"].engine.url.render_as_string(False)), standin.url, tmp, args)
        push_id = schedule(app, "bench-alert")
        profile = Path(args.profile) if args.profile else None
        result = run_sender(write_config(tmp, cfg), push_id, profile)
        stats, standin_cpu = standin.stats(), standin.cpu_seconds()
    finally:
        standin.close()
    with get_db(app).scope() as s:
        sent = s.scalar(select(func.count()).where(Delivery.push_id == push_id, Delivery.state == "sent"))
        state = s.get(Push, push_id).state
    verified = state == "done" and sent == args.count and stats["counts"] == dict.fromkeys(openids, 1)
    if profile:
        profile.with_suffix(".txt").write_text(summarize(profile.with_suffix(".raw"), 30))
    print(
        json.dumps(
            {
                "count": args.count,
                "delay_ms": args.delay * 1000,
                "database": app.extensions["db"].engine.url.get_backend_name(),
                "concurrency": args.concurrency,
                "seconds": round(result["seconds"], 1),
                "messages_per_second": round(args.count / result["seconds"], 1),
                "rss_start_mb": round(result["rss_start_mb"], 1),
                "rss_end_mb": round(result["rss_end_mb"], 1),
                "rss_max_mb": round(result["rss_max_mb"], 1),
                "rss_peak_mb": round(result["rss_peak_mb"], 1),
                "sender_cpu_seconds": round(result["cpu_seconds"], 1),
                "calls_at_standin": stats["calls"],
                "repeats_at_standin": stats["repeats"],
                "errors_at_standin": stats["errors"],
                "standin_cpu_seconds": round(standin_cpu, 1),
                "verified_exactly_once": verified,
            },
            ensure_ascii=False,
        )
    )
    if not verified:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
