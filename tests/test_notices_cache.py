"""The rendered-page cache and the store's first load under concurrent requests."""

from __future__ import annotations

import threading

from notices.store import NoticeStore
from tests.notices_kit import notice_app, write_notice


def test_concurrent_first_requests_all_find_the_notice(tmp_path):
    """A worker's first requests arrive together: none may answer from the still-empty store (a false 404)."""
    for i in range(40):
        write_notice(tmp_path, f"n-{i:02d}", title=f"公告{i}", keywords=f"[词{i}]", body="正文。\n" * 50)
    store = NoticeStore(tmp_path, interval=1.0)
    barrier = threading.Barrier(12)
    found: list[bool] = []

    def first_request() -> None:
        barrier.wait()
        found.append(store.get("n-39") is not None)

    threads = [threading.Thread(target=first_request) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert found == [True] * 12


def test_a_page_is_rendered_once_per_content_generation(tmp_path):
    path = write_notice(tmp_path, "a", title="原标题")
    app = notice_app(tmp_path)
    client = app.test_client()
    first, second = client.get("/notices/a"), client.get("/notices/a")
    assert first.data == second.data and first.headers["ETag"] == second.headers["ETag"]
    cache = app.extensions["notices_pages"]
    assert len(cache) == 1
    client.get("/notices/?page=1")
    client.get("/notices/search?q=原标题")
    assert len(cache) == 3
    path.write_text(path.read_text(encoding="utf-8").replace("原标题", "新标题"), encoding="utf-8")
    fresh = client.get("/notices/a")
    assert "新标题" in fresh.get_data(as_text=True) and fresh.headers["ETag"] != first.headers["ETag"]
    assert "新标题" in client.get("/notices/search?q=新标题").get_data(as_text=True)


def test_the_cache_is_bounded(tmp_path):
    write_notice(tmp_path, "a")
    app = notice_app(tmp_path)
    client = app.test_client()
    for i in range(300):
        assert client.get(f"/notices/search?q=词{i}").status_code == 200
    assert len(app.extensions["notices_pages"]) == 256
