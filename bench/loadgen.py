"""A small HTTP/1.1 keep-alive load generator: replays requests built in advance, from its own process.

Usage: python bench/loadgen.py REQUESTS.jsonl --port 8000 [--concurrency 16] [--seconds 10] [--max N]
Each line of the file is {"method", "path", "headers", "body"}; each request is sent at most once, so every nonce,
timestamp and MsgId is fresh. Prints one JSON object: count, errors, seconds, rps, p50/p90/p99 in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time


def load(path: str) -> list[bytes]:
    """Serialise every request line to raw HTTP bytes up front (no work on the hot path)."""
    raw = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            req = json.loads(line)
            body = req.get("body", "").encode()
            head = [f"{req['method']} {req['path']} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
            head += [f"{k}: {v}" for k, v in req.get("headers", {}).items()]
            raw.append(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    return raw


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one response; return its status code."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def worker(port: int, queue: list[bytes], deadline: float, lat: list[float], errs: list[int]) -> None:
    reader = writer = None
    while queue and time.perf_counter() < deadline:
        req = queue.pop()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            t0 = time.perf_counter()
            writer.write(req)
            status = await read_response(reader)
            lat.append(time.perf_counter() - t0)
            if status >= 400:
                errs.append(status)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            errs.append(0)
            if writer is not None:
                writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def main(args: argparse.Namespace) -> dict:
    queue = load(args.requests)[: args.max or None]
    queue.reverse()
    lat: list[float] = []
    errs: list[int] = []
    started = time.perf_counter()
    deadline = started + args.seconds
    await asyncio.gather(*(worker(args.port, queue, deadline, lat, errs) for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - started
    ms = sorted(x * 1000 for x in lat)

    def pct(p: float) -> float:
        return round(ms[min(len(ms) - 1, int(len(ms) * p))], 2) if ms else 0.0

    return {
        "count": len(lat),
        "errors": len(errs),
        "error_statuses": sorted(set(errs))[:5],
        "seconds": round(elapsed, 3),
        "rps": round(len(lat) / elapsed, 1) if elapsed else 0.0,
        "p50": pct(0.50),
        "p90": pct(0.90),
        "p99": pct(0.99),
        "mean": round(statistics.fmean(ms), 2) if ms else 0.0,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("requests")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max", type=int, default=0)
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
