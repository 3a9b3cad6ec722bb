"""A small HTTP/1.1 keep-alive load generator: replays requests built in advance, from its own process.

Usage: python bench/loadgen.py REQUESTS.jsonl --port 8000 [--concurrency 16] [--seconds 10] [--max N]
                               [--reconnect 100] [--check TOKEN:AES_KEY:APP_ID]
Each line of the file is {"method", "path", "headers", "body"} and, for a message, "expect" (the sender's openid);
each request is sent at most once, so every nonce, timestamp and MsgId is fresh. Prints one JSON object: count,
errors, seconds, rps, p50/p90/p99 in milliseconds, and with --check `wrong`: the replies WeChat would not deliver to
the sender (bad signature, not decryptable, addressed to someone else, empty), checked after the timed window so that
checking costs the servers nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time


def load(path: str) -> list[tuple[bytes, str | None]]:
    """Every request line as raw HTTP bytes made up front (nothing on the hot path), with its expected addressee."""
    raw = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            req = json.loads(line)
            body = req.get("body", "").encode()
            head = [f"{req['method']} {req['path']} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
            head += [f"{k}: {v}" for k, v in req.get("headers", {}).items()]
            raw.append((("\r\n".join(head) + "\r\n\r\n").encode() + body, req.get("expect")))
    return raw


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read one response; return its status code and body."""
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
    return status, await reader.readexactly(length) if length else b""


async def worker(
    port: int, queue: list, deadline: float, lat: list[float], errs: list[int], seen: list, reconnect: int
) -> None:
    reader = writer = None
    sent = 0
    while queue and time.perf_counter() < deadline:
        req, expect = queue.pop()
        try:
            if writer is not None and sent % reconnect == 0:
                writer.close()  # a new connection now and then: the server's workers each get their share
                reader = writer = None
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            sent += 1
            t0 = time.perf_counter()
            writer.write(req)
            status, body = await read_response(reader)
            lat.append(time.perf_counter() - t0)
            if status >= 400:
                errs.append(status)
            elif expect is not None:
                seen.append((expect, body))
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
    seen: list[tuple[str, bytes]] = []
    started = time.perf_counter()
    deadline = started + args.seconds
    await asyncio.gather(
        *(worker(args.port, queue, deadline, lat, errs, seen, args.reconnect) for _ in range(args.concurrency))
    )
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
        **({"wrong": wrong_replies(seen, *args.check.split(":"))} if args.check else {}),
    }


def wrong_replies(seen: list[tuple[str, bytes]], token: str, key: str, app_id: str) -> int:
    """How many replies WeChat would not show the sender: a safe-mode envelope whose signature or cipher fails, a
    reply addressed to another user or from another account, or no reply at all where one was due."""
    import xml.etree.ElementTree as ET

    from wechatpy.crypto import WeChatCrypto

    crypto = WeChatCrypto(token, key, app_id)
    wrong = 0
    for openid, body in seen:
        try:
            root = ET.fromstring(body)
            if root.findtext("Encrypt") is not None:  # safe mode: the signature, the cipher and the AppID checked
                sealed = [root.findtext(k) or "" for k in ("MsgSignature", "TimeStamp", "Nonce")]
                root = ET.fromstring(crypto.decrypt_message(body, *sealed))
            ok = root.findtext("ToUserName") == openid and root.findtext("MsgType") in ("text", "news")
            ok = ok and bool(root.findtext("Content") or root.findtext("ArticleCount"))
        except Exception:  # a reply that does not parse or decrypt is a wrong reply
            ok = False
        wrong += not ok
    return wrong


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("requests")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max", type=int, default=0)
    parser.add_argument(
        "--reconnect",
        type=int,
        default=100,
        help="requests per connection before it is opened again (gunicorn's workers share the connections as they "
        "are accepted: 16 kept for a whole round could all land on one worker, halving the round's figure)",
    )
    parser.add_argument("--check", default="", help="TOKEN:AES_KEY:APP_ID: count the wrong replies")
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
