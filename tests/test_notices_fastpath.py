"""The WSGI fast path: a repeated public page is answered from the page cache before Flask, byte for byte the same,
304 when the client has it, and rendered afresh by Flask after an edit."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from bot import create_app
from tests.conftest import make_config
from tests.notices_kit import SHIPPED

PAGE = "/notices/2022-double11-tips"


@pytest.fixture
def counted(db_url, tmp_path):
    content = tmp_path / "notices"
    shutil.copytree(SHIPPED, content)
    app = create_app(make_config(db_url, notices={"content_dir": str(content), "reload_seconds": 0}))
    seen = []
    app.before_request(lambda: seen.append(1))  # counts the requests that reach Flask
    yield app, seen, content
    app.extensions["db"].engine.dispose()


def test_a_repeated_page_skips_flask_with_the_same_answer(counted):
    app, seen, _ = counted
    client = app.test_client()
    first, second = client.get(PAGE), client.get(PAGE)
    assert len(seen) == 1
    assert first.status_code == second.status_code == 200 and first.data == second.data
    for header in ("Content-Type", "ETag", "Last-Modified", "Cache-Control", "Content-Length"):
        assert first.headers[header] == second.headers[header], header
    assert "七天无理由退货" in second.get_data(as_text=True)


def test_revalidation_is_a_304_without_flask(counted):
    app, seen, _ = counted
    client = app.test_client()
    etag = client.get(PAGE).headers["ETag"]
    again = client.get(PAGE, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert len(seen) == 1
    assert client.get(PAGE, headers={"If-None-Match": '"other"'}).status_code == 200


def test_an_edit_goes_back_to_flask_and_shows(counted):
    app, seen, content = counted
    client = app.test_client()
    client.get(PAGE)
    path = content / "2022-double11-tips.md"
    path.write_text(path.read_text(encoding="utf-8").replace("理性下单", "理性下单（已更新）"), encoding="utf-8")
    stamp = time.time_ns() + 2_000_000_000
    os.utime(path, ns=(stamp, stamp))
    page = client.get(PAGE)
    assert "理性下单（已更新）" in page.get_data(as_text=True) and len(seen) == 2


def test_other_methods_and_proxied_hosts_go_to_flask(counted):
    app, seen, _ = counted
    client = app.test_client()
    client.get(PAGE)
    client.head(PAGE)
    client.get(PAGE, headers={"X-Forwarded-Host": "example.org"})
    assert len(seen) == 3
