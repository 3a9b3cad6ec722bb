"""No 500 for anything a client sends: every route, signed out and as an admin, with hostile paths and queries."""

from __future__ import annotations

import pytest

from bot import create_app
from tests.conftest import make_config
from tests.console_support import Staff, add_staff

ODD = ["x", "99999999999999999999", "../../etc/passwd", "\x00<script>", "双11" + "a" * 2000]
QUERIES = ["", "?page=-1&q=%ff%fe", "?q=" + "长" * 2000, "?from=2026-13-45&to=x&status=%00&branch='--"]


def _urls(app) -> list[tuple[str, set[str]]]:
    """Every route with each odd value in its variables (integers get a number that matches nothing)."""
    adapter = app.url_map.bind("localhost")
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for value in ODD if rule.arguments else [None]:
            values = {
                arg: 12345 if type(rule._converters[arg]).__name__ == "IntegerConverter" else value
                for arg in rule.arguments
            }
            urls.append(
                (
                    adapter.build(rule.endpoint, values, method=next(iter(rule.methods or {"GET"}))),
                    set(rule.methods or ()),
                )
            )
    return urls


@pytest.fixture
def sandbox_app(db_url):
    app = create_app(make_config(db_url, wechat={"sandbox": True}))
    yield app
    app.extensions["db"].engine.dispose()


@pytest.mark.parametrize("signed_in", [False, True])
def test_no_route_answers_500(sandbox_app, signed_in):
    if signed_in:
        add_staff(sandbox_app, "root", "admin")
        client = Staff(sandbox_app, "root").client
    else:
        client = sandbox_app.test_client()
    failures = []
    for path, methods in _urls(sandbox_app):
        for query in QUERIES:
            if "GET" in methods:
                status = client.get(path + query).status_code
                if status >= 500:
                    failures.append(("GET", path + query[:40], status))
            if "POST" in methods:
                status = client.post(path + query, data={"text": "<x>", "to": "已办结"}).status_code
                if status >= 500:
                    failures.append(("POST", path + query[:40], status))
    assert failures == []
