"""perf on the real server: where the workers' CPU goes below Python (interpreter, kernel, SQLite, OpenSSL, libc).

Usage: python bench/profile_native.py [SCENARIO-WORD] [--db sqlite|postgresql] [--seconds 4] [--out bench/profiles/NAME]
Runs the app under gunicorn (bench settings), loads it with one scenario from bench/loadgen.py and samples every
worker with `perf record` (Linux perf must be installed and allowed: root, or kernel.perf_event_paranoid <= 1).
Writes NAME.txt: the share of samples per library and the top symbols. py-spy (bench/profile_server.py) shows the
Python frames; this shows what they cost underneath, the kernel's part (context switches, I/O) included.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import run  # noqa: E402
from bench.scenarios import SCENARIOS, prepare  # noqa: E402


def report(data: Path, sort: str, lines: int) -> str:
    out = subprocess.run(
        ["perf", "report", "-i", str(data), "--no-children", "--sort", sort, "--stdio", "-g", "none"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [line for line in out.splitlines() if line.strip() and not line.startswith("#")]
    return "\n".join(rows[:lines])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="keyword reply")
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--out", default="bench/profiles/native")
    args = parser.parse_args()
    if shutil.which("perf") is None:
        sys.exit("perf is not installed (Debian: apt-get install linux-perf)")
    name = next(n for n in SCENARIOS if args.scenario in n)
    work = Path(tempfile.mkdtemp(prefix="native-"))
    url, cleanup = run.database_url(args.db, work)
    (work / "app.toml").write_text(run.app_config(url))
    server = run.Server("bot:create_app()", {"APP_CONFIG": str(work / "app.toml")}, work / "app.log")
    try:
        state = prepare(server, None)
        requests = SCENARIOS[name](state, floor=False)
        stats: dict = {}
        loader = threading.Thread(target=lambda: stats.update(run.load(server, requests, work, args.seconds + 2)))
        loader.start()
        time.sleep(1)
        data = work / "perf.data"
        pids = ",".join(str(p) for p in server.workers())
        cmd = ["perf", "record", "-F", "999", "-p", pids, "-o", str(data), "--", "sleep", str(args.seconds)]
        subprocess.run(cmd, capture_output=True, check=True)
        loader.join()
        text = (
            f"# {args.db}: {name}: {stats.get('rps')} req/s, {stats.get('cpu_us')} us CPU/req (perf record -F 999)\n\n"
            f"## share of samples per library\n{report(data, 'dso', 12)}\n\n"
            f"## top symbols\n{report(data, 'dso,sym', 40)}\n"
        )
    finally:
        server.stop()
        cleanup()
        shutil.rmtree(work, ignore_errors=True)
    Path(args.out).with_suffix(".txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
