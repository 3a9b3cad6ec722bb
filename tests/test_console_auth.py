"""Console sign-in: passwords, lockout and its expiry, idle expiry, CSRF, cookie flags, and `flask staff`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import clock, create_app
from bot.db import get_db
from bot.models import AuditEntry, StaffUser
from tests.conftest import make_config
from tests.console_support import PASSWORD, Staff, add_lead, add_staff, csrf_from


def _login(client, username, password):
    token = csrf_from(client.get("/console/login").get_data(as_text=True))
    return client.post("/console/login", data={"username": username, "password": password, "csrf_token": token})


def _audit(app, action):
    with get_db(app).scope() as s:
        return s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


def test_sign_in_and_out_are_audited(app, client):
    add_staff(app, "li", "handler", "shiqi")
    assert _login(client, "li", "wrong-password").status_code == 401
    response = _login(client, "li", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/console/queue")
    page = client.get("/console/queue").get_data(as_text=True)
    assert "工作队列" in page
    client.post("/console/logout", data={"csrf_token": csrf_from(page)})
    assert client.get("/console/queue").status_code == 302
    failed = _audit(app, "login_failed")
    assert len(failed) == 1 and "li" in failed[0].detail and failed[0].address == "127.0.0.1"
    assert [e.actor_name for e in _audit(app, "login")] == ["li"]
    assert len(_audit(app, "logout")) == 1


def test_unknown_user_and_disabled_user_get_the_same_answer(app, client):
    add_staff(app, "gone", "handler", "shiqi", disabled=True)
    for name in ("gone", "nobody"):
        response = _login(client, name, PASSWORD)
        assert response.status_code == 401 and "用户名或密码错误" in response.get_data(as_text=True)


def test_account_lockout_says_how_long_and_expires(app, client, clock):
    add_staff(app, "wang", "handler", "shiqi")
    for _ in range(4):
        assert _login(client, "wang", "bad").status_code == 401
    fifth = _login(client, "wang", "bad")
    assert fifth.status_code == 429 and "请在 15 分钟后再试" in fifth.get_data(as_text=True)
    # Locked: even the right password is refused, with the time left.
    locked = _login(client, "wang", PASSWORD)
    assert locked.status_code == 429 and "已被暂时锁定" in locked.get_data(as_text=True)
    clock.advance(timedelta(minutes=16))
    assert _login(client, "wang", PASSWORD).status_code == 302


def test_address_lockout_covers_every_account(db_url):
    app = create_app(make_config(db_url, console={"address_attempts": 3, "lockout_attempts": 50}))
    client = app.test_client()
    add_staff(app, "zhao", "admin")
    for name in ("a", "b", "c"):
        _login(client, name, "bad")
    response = _login(client, "zhao", PASSWORD)
    assert response.status_code == 429 and "此网络地址登录失败次数过多" in response.get_data(as_text=True)
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert _login(other, "zhao", PASSWORD).status_code == 302
    app.extensions["db"].engine.dispose()


def test_idle_session_expires(app):
    add_staff(app, "qian", "admin")
    staff = Staff(app, "qian")
    assert staff.get("/console/queue").status_code == 200
    clock.advance(timedelta(minutes=31))
    response = staff.get("/console/queue")
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]
    page = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "已自动退出" in page


def test_csrf_is_required_on_console_forms(app):
    add_staff(app, "sun", "handler", "shiqi")
    lead_id = add_lead(app)
    staff = Staff(app, "sun")
    response = staff.client.post(f"/console/leads/{lead_id}/note", data={"text": "无令牌"})
    assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)
    response = staff.client.post(f"/console/leads/{lead_id}/note", data={"text": "错令牌", "csrf_token": "x"})
    assert response.status_code == 400
    with get_db(app).scope() as s:
        assert not s.scalars(select(AuditEntry).where(AuditEntry.action == "note")).all()
    assert staff.post(f"/console/leads/{lead_id}/note", data={"text": "有令牌"}).status_code == 303


def test_login_without_csrf_is_refused(app, client):
    add_staff(app, "zhou", "admin")
    response = client.post("/console/login", data={"username": "zhou", "password": PASSWORD})
    assert response.status_code == 400


def test_session_cookie_flags(db_url):
    production = {"production": True, "secret_key": "9f" * 32}
    app = create_app(
        make_config(
            db_url,
            app=production,
            wechat={"encoding_aes_key": "K" * 43},
            database={"allow_sqlite_in_production": True},
            leads={"consumer_template_id": "prod-progress-template"},
        )
    )
    add_staff(app, "wu", "admin")
    client = app.test_client()
    response = _login(client, "wu", PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    app.extensions["db"].engine.dispose()


def test_password_change_and_disable_end_sessions(app, runner):
    add_staff(app, "zheng", "handler", "shiqi")
    staff = Staff(app, "zheng")
    result = runner.invoke(args=["staff", "passwd", "zheng"], input="new-password-1\nnew-password-1\n")
    assert result.exit_code == 0, result.output
    assert staff.get("/console/queue").status_code == 302
    staff2 = app.test_client()
    assert _login(staff2, "zheng", "new-password-1").status_code == 302
    runner.invoke(args=["staff", "disable", "zheng"])
    assert staff2.get("/console/queue").status_code == 302


def test_staff_cli_adds_accounts_with_hashed_passwords(app, runner):
    result = runner.invoke(
        args=["staff", "add", "chen", "--role", "handler", "--branch", "shiqi"],
        input="short\nshort\nlong-enough-pw\nlong-enough-pw\n",
    )
    assert result.exit_code == 0, result.output
    assert "至少需要 10 个字符" in result.output and "created handler chen of branch shiqi" in result.output
    with get_db(app).scope() as s:
        user = s.scalar(select(StaffUser).where(StaffUser.username == "chen"))
        assert user.password_hash.startswith("$argon2id$") and "long-enough-pw" not in user.password_hash
    assert runner.invoke(args=["staff", "add", "x", "--role", "handler"]).exit_code != 0
    assert runner.invoke(args=["staff", "add", "x", "--role", "root"]).exit_code != 0
    typo = runner.invoke(args=["staff", "add", "x", "--role", "handler", "--branch", "nosuchbranch"])
    assert typo.exit_code != 0 and "no branch 'nosuchbranch'" in typo.output and "shiqi" in typo.output
    assert [e.detail for e in _audit(app, "staff_change")] == ["新建账号 chen（办理人员，shiqi）"]
    assert "chen\thandler\tshiqi\tactive" in runner.invoke(args=["staff", "list"]).output


def test_next_only_goes_inside_the_console(app, client):
    add_staff(app, "he", "admin")
    token = csrf_from(client.get("/console/login").get_data(as_text=True))
    data = {"username": "he", "password": PASSWORD, "csrf_token": token, "next": "https://evil.example/"}
    assert client.post("/console/login", data=data).headers["Location"].endswith("/console/queue")


@pytest.mark.parametrize("path", ["/wechat", "/sandbox/api/cgi-bin/token"])
def test_csrf_does_not_touch_other_blueprints(app, client, path):
    # Not browser forms: a POST there must not be answered with the console's CSRF error.
    response = client.post(path, data="<xml></xml>")
    assert "页面已过期" not in response.get_data(as_text=True)


def test_console_pages_carry_the_security_headers(app, client):
    add_staff(app, "ma", "admin")
    for response in (client.get("/console/login"), _login(client, "ma", PASSWORD), client.get("/console/queue")):
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"


def test_a_next_with_cr_lf_signs_in_and_goes_home(app, client):
    add_staff(app, "he", "handler", "shiqi")
    for target in ("/console/queue\r\nSet-Cookie: x=1", "/console/\\evil", "/console/%0d%0a"):
        client = app.test_client()  # a fresh browser: signing in changes the session and its CSRF token
        page = client.get("/console/login").get_data(as_text=True)
        response = client.post(
            "/console/login",
            data={"username": "he", "password": PASSWORD, "next": target, "csrf_token": csrf_from(page)},
        )
        assert response.status_code == 302 and "\n" not in response.headers["Location"]
        assert "Set-Cookie: x=1" not in response.headers["Location"]


def test_the_audit_log_keeps_a_typed_name_only_when_it_is_an_account(app, client):
    add_staff(app, "qin", "handler", "shiqi")
    _login(client, "qin", "wrong-password")
    _login(client, "S3cret-typed-in-the-name-field", PASSWORD)
    details = [e.detail for e in _audit(app, "login_failed")]
    assert details == ["用户名：qin", "用户名：不是任何账号（所填内容不记录）"]


def test_a_name_that_is_no_account_locks_like_one_that_is(app, client):
    """Same answers for both: the lockout does not tell which user names exist."""
    add_staff(app, "real", "handler", "shiqi")
    answers = {}
    for name in ("real", "imaginary"):
        replies = [_login(client, name, "bad") for _ in range(5)]
        answers[name] = [(r.status_code, r.get_data(as_text=True).count("已被锁定")) for r in replies]
        sixth = _login(client, name, "bad")
        assert sixth.status_code == 429 and "该账号因连续登录失败已被暂时锁定" in sixth.get_data(as_text=True)
    assert answers["real"] == answers["imaginary"]


def test_signing_out_ends_the_session_even_for_a_copied_cookie(app, client):
    add_staff(app, "lu", "handler", "shiqi")
    assert _login(client, "lu", PASSWORD).status_code == 302
    page = client.get("/console/queue").get_data(as_text=True)
    stolen = app.test_client()  # someone who copied the session cookie
    stolen.set_cookie("session", client.get_cookie("session").value)
    assert stolen.get("/console/queue").status_code == 200
    client.post("/console/logout", data={"csrf_token": csrf_from(page)})
    refused = stolen.get("/console/queue")
    assert refused.status_code == 302 and "/console/login" in refused.headers["Location"]
