"""Helpers for the console tests: staff accounts, leads written as rows, and a signed-in client that sends CSRF."""

from __future__ import annotations

import itertools
import re
from datetime import date

from bot.console.security import hash_password
from bot.db import get_db
from bot.leads import deadlines
from bot.models import Evidence, Lead, StaffUser
from bot.privacy import match_hash

PASSWORD = "correct-horse-battery"
PHONE = "13812345678"
OTHER_PHONE = "13987654321"
_tickets = itertools.count(1)
_hash_cache: dict[str, str] = {}


def add_staff(app, username: str, role: str, branch: str | None = None, **extra) -> int:
    """A staff account with the common test password (the argon2 hash is computed once)."""
    if PASSWORD not in _hash_cache:
        _hash_cache[PASSWORD] = hash_password(PASSWORD)
    with get_db(app).scope() as s:
        user = StaffUser(username=username, role=role, branch=branch, password_hash=_hash_cache[PASSWORD], **extra)
        s.add(user)
        s.flush()
        return user.id


def add_lead(app, **fields) -> int:
    """A lead row as the complaint dialogue would write it; any field may be overridden."""
    received = fields.pop("received_on", date(2026, 5, 6))
    kind = fields.get("kind", "complaint")
    phone = fields.pop("phone", PHONE)
    address = fields.pop("address", "中山市石岐区民生路1号")
    due = deadlines.add_working_days(received, 7 if kind == "complaint" else 15)
    values = {
        "ticket": f"T2026{next(_tickets):06d}",
        "kind": kind,
        "status": "新线索",
        "category": "食品安全",
        "category_rule": "关键词“过期”",
        "branch": "shiqi",
        "openid": "oUser000000000000000000001",
        "name": "张三丰",
        "phone": phone,
        "address": address,
        "phone_hash": match_hash(phone) if phone else None,
        "address_hash": match_hash(address) if address else None,
        "business_name": "好又多超市",
        "facts": "买到过期牛奶，店员说可以退但一直没退。",
        "request": "退款并赔偿",
        "received_on": received,
        "accept_due" if kind == "complaint" else "verify_due": due,
        "next_due": due,
    }
    values.update(fields)
    with get_db(app).scope() as s:
        lead = Lead(**values)
        s.add(lead)
        s.flush()
        return lead.id


def add_evidence(app, lead_id: int, path: str, content_type: str = "image/png") -> int:
    """An evidence row pointing at a stored file."""
    with get_db(app).scope() as s:
        item = Evidence(
            lead_id=lead_id, openid="oUser", media_id="m1", path=path, content_type=content_type, state="done"
        )
        s.add(item)
        s.flush()
        return item.id


TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = TOKEN.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


class Staff:
    """A test client signed in as one staff member; post() adds the session's CSRF token."""

    def __init__(self, app, username: str) -> None:
        self.client = app.test_client()
        page = self.client.get("/console/login").get_data(as_text=True)
        response = self.client.post(
            "/console/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_from(page)}
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        home = self.client.get("/console/", follow_redirects=True)
        self.token = csrf_from(home.get_data(as_text=True))

    def get(self, url: str, **kw):
        return self.client.get(url, **kw)

    def post(self, url: str, data: dict | None = None, **kw):
        return self.client.post(url, data={"csrf_token": self.token, **(data or {})}, **kw)
