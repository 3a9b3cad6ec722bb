"""The log handler: INFO lines written in batches by a thread, a warning at once with everything before it, masked."""

from __future__ import annotations

import io
import logging
import time

from bot.logs import LineBuffer, MaskingFormatter


def _logger(name: str, handler: logging.Handler) -> logging.Logger:
    handler.setFormatter(MaskingFormatter("%(levelname)s %(message)s"))
    log = logging.getLogger(name)
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.INFO)
    return log


def test_a_warning_is_written_at_once_after_the_lines_before_it():
    stream = io.StringIO()
    handler = LineBuffer(stream)
    handler.FLUSH_EVERY = 60  # the thread stays out of this test
    log = _logger("test.logs.batches", handler)
    log.info("method=POST path=/wechat status=200 ms=1.2")
    log.info("电话 13800138000")
    assert stream.getvalue() == ""  # INFO waits for its batch
    log.warning("bad signature")
    assert stream.getvalue().splitlines() == [
        "INFO method=POST path=/wechat status=200 ms=1.2",
        "INFO 电话 138****8000",
        "WARNING bad signature",
    ]


def test_info_lines_reach_the_stream_within_the_flush_interval_and_at_a_full_batch():
    stream = io.StringIO()
    handler = LineBuffer(stream)
    handler.FLUSH_EVERY = 0.05
    log = _logger("test.logs.thread", handler)
    log.info("first")
    deadline = time.monotonic() + 5
    while "first" not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stream.getvalue() == "INFO first\n"
    handler.FLUSH_EVERY = 60
    time.sleep(0.1)  # the thread is asleep for a minute now
    for i in range(LineBuffer.BATCH):
        log.info("line %d", i)
    assert stream.getvalue().count("\n") == 1 + LineBuffer.BATCH  # the full batch was written by the caller
