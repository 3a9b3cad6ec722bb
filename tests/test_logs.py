"""The log handler: INFO lines written in batches by a thread, a warning at once with everything before it, masked."""

from __future__ import annotations

import io
import logging
import os
import threading
import time

from bot.logs import LineBuffer, MaskingFormatter


def _logger(name: str, handler: logging.Handler) -> logging.Logger:
    handler.setFormatter(MaskingFormatter("%(levelname)s %(message)s"))
    log = logging.getLogger(name)
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.INFO)
    return log


def test_a_line_in_a_quiet_moment_is_written_at_once_the_next_ones_wait_a_warning_takes_them_all():
    stream = io.StringIO()
    handler = LineBuffer(stream)
    handler.FLUSH_EVERY = 60  # the thread stays out of this test; "quiet" means a minute without writing
    log = _logger("test.logs.batches", handler)
    log.info("method=POST path=/wechat status=200 ms=1.2")
    assert stream.getvalue() == "INFO method=POST path=/wechat status=200 ms=1.2\n"  # nothing written before it
    log.info("电话 13800138000")
    log.info("method=GET path=/notices/ status=200 ms=0.4")
    assert stream.getvalue().count("\n") == 1  # close behind a write: they wait for the batch
    log.warning("bad signature")
    assert stream.getvalue().splitlines() == [
        "INFO method=POST path=/wechat status=200 ms=1.2",
        "INFO 电话 138****8000",
        "INFO method=GET path=/notices/ status=200 ms=0.4",
        "WARNING bad signature",
    ]


def test_waiting_lines_reach_the_stream_within_the_flush_interval_and_at_a_full_batch():
    stream = io.StringIO()
    handler = LineBuffer(stream)
    handler.FLUSH_EVERY = 0.05
    log = _logger("test.logs.thread", handler)
    log.info("first")
    log.info("second")  # written at once or by the thread: within the interval either way
    deadline = time.monotonic() + 5
    while "second" not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stream.getvalue() == "INFO first\nINFO second\n"
    handler.FLUSH_EVERY = 60
    time.sleep(0.1)  # the thread is asleep for a minute now, and the last write is recent
    for i in range(LineBuffer.BATCH):
        log.info("line %d", i)
    assert stream.getvalue().count("\n") == 2 + LineBuffer.BATCH  # the full batch was written by the caller


def test_a_forked_child_does_not_write_its_parents_waiting_lines_again(tmp_path):
    path = tmp_path / "log.txt"
    with path.open("a") as stream:
        handler = LineBuffer(stream)
        handler.FLUSH_EVERY = 60
        log = _logger("test.logs.fork", handler)
        log.info("one")  # written at once
        log.info("two")  # waits
        pid = os.fork()
        if pid == 0:  # the child: what its atexit would do, then leave without the parent's cleanup
            handler.flush()
            os._exit(0)
        os.waitpid(pid, 0)
        handler.flush()
    assert path.read_text().splitlines() == ["INFO one", "INFO two"]


def test_without_a_flushing_thread_every_line_is_written_at_once(monkeypatch):
    def refuse(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    stream = io.StringIO()
    handler = LineBuffer(stream)
    handler.FLUSH_EVERY = 60
    log = _logger("test.logs.threadless", handler)
    log.info("one")
    log.info("two")  # would wait for the thread, but there is none
    assert stream.getvalue() == "INFO one\nINFO two\n"


def test_a_menu_key_with_cr_lf_cannot_forge_a_log_line(db_url):
    """A signed CLICK whose EventKey carries a line feed and a fake line: one escaped line, no forged one."""
    from tests.wechat_user import make_wechat

    wx = make_wechat(db_url, "safe")
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_bot", False))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        forged = "X\n2026-12-05 10:00:00,000 level=ERROR logger=bot.console admin password reset"  # XML keeps the LF
        wx.event("oForger", "CLICK", forged)
        handler.flush()
    finally:
        handler.setStream(previous)
    lines = stream.getvalue().splitlines()
    assert any("menu key without a handler key=X\\n2026-12-05" in line for line in lines)
    assert not any(line.startswith("2026-12-05 10:00:00,000") for line in lines)


def test_control_characters_in_a_logged_value_are_escaped():
    formatter = MaskingFormatter("%(levelname)s %(message)s")
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "type=%s event=%s", ("te\rxt", "a\x01b"), None)
    assert formatter.format(record) == "WARNING type=te\\rxt event=a\\x01b"
