"""py-spy on the real server: the app under gunicorn (bench settings), one scenario, every worker sampled.

Usage: python bench/profile_server.py [SCENARIO-WORD] [--db sqlite|postgresql] [--seconds 8] [--out bench/profiles/NAME]
Writes NAME.svg (flame graph) and NAME.txt (the top frames by own and by inclusive samples, GIL-idle included:
what a worker thread spends waiting shows as well).
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import run, wire  # noqa: E402
from bench.scenarios import SCENARIOS, prepare  # noqa: E402


def summarise(collapsed: Path, top: int = 30) -> str:
    """Own and inclusive sample counts per frame from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = stack.split(";")
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            incl[frame] += n
    out = [f"{total} samples", "", "own %  frame"]
    out += [f"{100 * n / total:5.1f}  {f}" for f, n in own.most_common(top)]
    out += ["", "incl % frame"]
    out += [f"{100 * n / total:5.1f}  {f}" for f, n in incl.most_common(top)]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="reply (text)")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--out", default=str(ROOT / "bench" / "profiles" / "server"))
    parser.add_argument("--idle", action="store_true", help="include idle (waiting) samples")
    parser.add_argument("--gil", action="store_true", help="only samples of the thread holding the GIL (CPU work)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="prof-server-"))
    config = work / "app.toml"
    url, cleanup = run.database_url(args.db, work)
    config.write_text(run.app_config(url))
    server = run.Server("bot:create_app()", {"APP_CONFIG": str(config)}, work / "app.log")
    try:
        state = prepare(server, None)
        name = next(n for n in SCENARIOS if args.scenario in n)
        path = work / "requests.jsonl"
        wire.write(str(path), SCENARIOS[name](state, False))
        out = Path(args.out)
        raw = work / "stacks.txt"
        spy = [
            str(run.BIN / "py-spy"),
            "record",
            "--pid",
            str(server.proc.pid),
            "--subprocesses",
            "--rate",
            "250",
            "--duration",
            str(int(args.seconds)),
            "--nonblocking",
        ]
        idle = (["--idle"] if args.idle else []) + (["--gil"] if args.gil else [])
        recorders = [
            subprocess.Popen([*spy, *idle, "--format", "raw", "--output", str(raw)], stdout=subprocess.DEVNULL),
            subprocess.Popen([*spy, *idle, "--output", str(out.with_suffix(".svg"))], stdout=subprocess.DEVNULL),
        ]
        loadgen = str(ROOT / "bench" / "loadgen.py")
        result = subprocess.run(
            [sys.executable, loadgen, str(path), "--port", str(server.port), "--seconds", str(args.seconds)],
            capture_output=True,
            text=True,
            check=True,
        )
        for rec in recorders:
            rec.wait()
        text = f"# {name}: {result.stdout.strip()}\n" + summarise(raw)
        out.with_suffix(".txt").write_text(text)
        print(text)
    finally:
        server.stop()
        cleanup()


if __name__ == "__main__":
    main()
