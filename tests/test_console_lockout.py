"""Sign-in limits that cannot be turned against the account's owner: per (name, address), per address, and a slower
pace for a name guessed at from everywhere; names that are no account answered exactly like accounts."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

import pytest

from bot import create_app
from tests.conftest import make_config
from tests.console_support import PASSWORD, add_staff, csrf_from


def _from(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _login(client, username: str, password: str):
    token = csrf_from(client.get("/console/login").get_data(as_text=True))
    response = client.post("/console/login", data={"username": username, "password": password, "csrf_token": token})
    return response.status_code, response.get_data(as_text=True)


def _message(page: str) -> str:
    """The error line of the sign-in page (what the person signing in reads)."""
    start = page.index('class="error"')
    return page[page.index(">", start) + 1 : page.index("<", start)]


def test_an_attackers_failures_do_not_lock_the_owner_out(app):
    add_staff(app, "zhou", "handler", "shiqi")
    attacker = _from(app, "10.0.0.9")
    answers = [_login(attacker, "zhou", f"guess-{i}")[0] for i in range(6)]
    assert answers == [401, 401, 401, 401, 429, 429]
    status, page = _login(attacker, "zhou", PASSWORD)  # locked for that address, even with the right password
    assert status == 429 and "已被暂时锁定" in page
    assert _login(_from(app, "10.0.0.1"), "zhou", PASSWORD)[0] == 302  # the owner, elsewhere, signs in


def test_the_owner_signing_in_clears_only_their_own_address(app, clock):
    add_staff(app, "wu", "handler", "shiqi")
    owner = _from(app, "10.0.0.1")
    for _ in range(4):
        assert _login(owner, "wu", "typo")[0] == 401
    assert _login(owner, "wu", PASSWORD)[0] == 302
    owner = _from(app, "10.0.0.1")
    assert [_login(owner, "wu", "typo")[0] for _ in range(4)] == [401] * 4  # counting started again


def _guessed_from_many_addresses(db_url, name: str | None, clock) -> list[tuple[int, str]]:
    """Answers to a name tried from eight addresses, then to its owner: what anyone signing in would read."""
    app = create_app(make_config(db_url, console={"name_attempts": 8, "name_throttle_seconds": 60}))
    if name == "real":
        add_staff(app, "real", "handler", "shiqi")
    answers = []
    for i in range(8):
        status, page = _login(_from(app, f"10.0.1.{i}"), name, "guess")
        answers.append((status, _message(page)))
    status, page = _login(_from(app, "10.0.0.1"), name, PASSWORD)
    answers.append((status, _message(page)))
    clock.advance(timedelta(seconds=61))
    answers.append((_login(_from(app, "10.0.0.1"), name, PASSWORD)[0], ""))
    app.extensions["db"].dispose()
    return answers


def test_a_name_guessed_at_from_many_addresses_is_slowed_not_locked(db_url, clock):
    answers = _guessed_from_many_addresses(db_url, "real", clock)
    assert answers[:8] == [(401, "用户名或密码错误。")] * 8
    assert answers[8] == (429, "该账号近期登录失败次数过多，为保护账号安全，请在 60 秒后再试。")
    assert answers[9][0] == 302  # a minute later the owner signs in


def test_a_name_that_is_no_account_is_slowed_down_exactly_like_one_that_is(db_url, clock):
    real = _guessed_from_many_addresses(db_url, "real", clock)
    imaginary = _guessed_from_many_addresses(db_url, "imaginary", clock)
    assert imaginary[:9] == real[:9] and imaginary[9][0] == 401  # the last only: the real one had the password


def test_an_address_that_fails_too_often_is_refused_for_every_name(db_url):
    app = create_app(make_config(db_url, console={"address_attempts": 6, "lockout_attempts": 5}))
    add_staff(app, "zheng", "admin")
    crawler = _from(app, "10.0.0.9")
    for name in ("a", "b", "c", "d", "e", "f"):
        assert _login(crawler, name, "bad")[0] == 401  # never five for one name: only the address limit applies
    status, page = _login(crawler, "zheng", PASSWORD)
    assert status == 429 and "此网络地址登录失败次数过多" in page
    assert _login(_from(app, "10.0.0.1"), "zheng", PASSWORD)[0] == 302
    app.extensions["db"].dispose()


@pytest.mark.wall_clock
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_name_that_is_no_account_takes_as_long_to_refuse(db_url):
    """The password is verified (argon2) for every name: refusing an unknown name is not measurably quicker."""
    app = create_app(make_config(db_url, console={"lockout_attempts": 50, "address_attempts": 100}))
    add_staff(app, "sun", "handler", "shiqi")
    client = app.test_client()
    times: dict[str, list[float]] = {"sun": [], "nobody": []}
    for _ in range(5):
        for name in times:
            started = time.perf_counter()
            assert _login(client, name, "wrong-password")[0] == 401
            times[name].append(time.perf_counter() - started)
    known, unknown = statistics.median(times["sun"]), statistics.median(times["nobody"])
    assert unknown > 0.6 * known, (known, unknown)
