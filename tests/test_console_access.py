"""Who sees what: every console route x every role x own / other branch; a handler is blind to other branches."""

from __future__ import annotations

import csv
import io

import pytest

from bot.leads.settings import LeadsSettings
from tests.console_support import Staff, add_evidence, add_lead, add_staff

ALL = {"admin", "handler", "editor", "viewer"}
LEADS = {"admin", "handler"}
STATS = {"admin", "handler", "viewer"}
EDITORS = {"admin", "editor"}
SHIPPED = "2022-double11-tips"  # a notice shipped in content/notices
# endpoint -> (method, url with {lead} / {evidence} / {user}, roles allowed, form data for a POST)
ROUTES = {
    "console.home": ("GET", "/console/", ALL, None),
    "console.logout": ("POST", "/console/logout", ALL, {}),
    "console.queue": ("GET", "/console/queue", LEADS, None),
    "console.triage": ("GET", "/console/triage", {"admin"}, None),
    "console.lead": ("GET", "/console/leads/{lead}", LEADS, None),
    "console.lead_reveal": ("POST", "/console/leads/{lead}/reveal", LEADS, {"reason": "核实"}),
    "console.lead_transition": ("POST", "/console/leads/{lead}/status", LEADS, {"to": "已办结"}),
    "console.lead_reply": ("POST", "/console/leads/{lead}/reply", LEADS, {"text": ""}),
    "console.lead_note": ("POST", "/console/leads/{lead}/note", LEADS, {"text": "备注"}),
    "console.lead_recategorize": ("POST", "/console/leads/{lead}/category", LEADS, {"category": ""}),
    "console.lead_reassign": ("POST", "/console/leads/{lead}/assign", LEADS, {}),
    "console.lead_pause": ("POST", "/console/leads/{lead}/pause", LEADS, {"reason": ""}),
    "console.lead_resume": ("POST", "/console/leads/{lead}/resume", LEADS, {}),
    "console.lead_extend": ("POST", "/console/leads/{lead}/extend", LEADS, {"approver": ""}),
    "console.notice_offline": ("POST", "/console/leads/{lead}/notices/1/offline", LEADS, {"method": ""}),
    "console.evidence": ("GET", "/console/evidence/{evidence}", LEADS, None),
    "console.export_form": ("GET", "/console/export", LEADS, None),
    "console.export_download": ("POST", "/console/export", LEADS, {"status": "all"}),
    "console.stats": ("GET", "/console/stats", STATS, None),
    "console.report": ("GET", "/console/report", STATS, None),
    "console.report_docx": ("GET", "/console/report.docx", STATS, None),
    "console.pushes": ("GET", "/console/pushes", {"admin", "editor"}, None),
    "console.notices_list": ("GET", "/console/notices", EDITORS, None),
    "console.notice_new": ("GET", "/console/notices/new", EDITORS, None),
    "console.notice_create": ("POST", "/console/notices/new", EDITORS, {}),  # no address: 422, nothing written
    "console.notice_edit": ("GET", f"/console/notices/{SHIPPED}/edit", EDITORS, None),
    "console.notice_save": ("POST", f"/console/notices/{SHIPPED}/edit", EDITORS, {}),  # no version: 409, unwritten
    "console.notice_preview": ("POST", "/console/notices/preview", EDITORS, {"title": "预览"}),
    "console.audit_log": ("GET", "/console/audit", {"admin"}, None),
    "console.staff_list": ("GET", "/console/staff", {"admin"}, None),
    "console.staff_toggle": ("POST", "/console/staff/{user}/toggle", {"admin"}, {}),
}
PUBLIC = {"console.login", "console.static", "console.unknown"}


@pytest.fixture
def world(app, tmp_path):
    """Two branches, one lead and one photo in each, and a signed-in client for every role."""
    app.config["SETTINGS"].replace(LeadsSettings, evidence_dir=str(tmp_path))
    (tmp_path / "a.png").write_bytes(b"\x89PNG own")
    (tmp_path / "b.png").write_bytes(b"\x89PNG other")
    add_staff(app, "admin", "admin")
    add_staff(app, "handler", "handler", "shiqi")
    add_staff(app, "editor", "editor")
    add_staff(app, "viewer", "viewer")
    spare = add_staff(app, "spare", "handler", "dongqu")
    own = add_lead(app, branch="shiqi", business_name="本分局商户", ticket="T-OWN-0001")
    other = add_lead(app, branch="dongqu", business_name="别的分局商户", ticket="T-OTHER-0001", phone="13900001111")
    places = {
        "own": {"lead": own, "evidence": add_evidence(app, own, "a.png"), "user": spare},
        "other": {"lead": other, "evidence": add_evidence(app, other, "b.png"), "user": spare},
    }
    clients = {role: Staff(app, role) for role in ALL}
    return places, clients


def test_every_console_route_is_in_the_matrix(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("console.")}
    assert endpoints == set(ROUTES) | PUBLIC
    for endpoint in endpoints - {"console.static"}:
        assert hasattr(app.view_functions[endpoint], "console_roles"), f"{endpoint} declares no roles"


@pytest.mark.parametrize("role", sorted(ALL))
def test_permission_matrix(world, role):
    places, clients = world
    for endpoint, (method, template, allowed, data) in ROUTES.items():
        if endpoint == "console.logout":
            continue  # checked last, it ends the session
        for where, ids in places.items():
            url = template.format(**ids)
            staff = clients[role]
            response = staff.get(url) if method == "GET" else staff.post(url, data=data)
            response.get_data()  # consume a streamed export
            response.close()
            code = response.status_code
            label = f"{role} {method} {url} ({where})"
            if role not in allowed:
                assert code == 403, label
            elif role == "handler" and where == "other" and "{" in template and "{user}" not in template:
                assert code == 404, label  # another branch's lead does not exist for a handler
            else:
                assert code in (200, 302, 303, 409, 422), f"{label}: {code}"  # 409, 422: the step itself refused
    assert clients[role].post("/console/logout").status_code == 302
    assert clients[role].get("/console/").status_code == 302


def test_anonymous_is_sent_to_sign_in(app, world):
    places, _ = world
    client = app.test_client()
    for _endpoint, (method, template, _allowed, _data) in ROUTES.items():
        if method != "GET":
            continue
        response = client.get(template.format(**places["own"]))
        assert response.status_code == 302 and "/console/login" in response.headers["Location"]


def test_handler_never_sees_another_branch(world):
    places, clients = world
    handler = clients["handler"]
    queue = handler.get("/console/queue?status=all").get_data(as_text=True)
    assert "本分局商户" in queue and "别的分局商户" not in queue and "T-OTHER" not in queue
    assert '<strong id="total">1</strong>' in queue
    assert "别的分局商户" not in handler.get("/console/queue?q=别的分局").get_data(as_text=True)
    assert '<strong id="total">0</strong>' in handler.get("/console/queue?q=T-OTHER").get_data(as_text=True)
    assert "dongqu" not in handler.get("/console/queue?branch=dongqu").get_data(as_text=True)
    export = handler.post("/console/export", data={"status": "all"}).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(export.lstrip("\ufeff"))))
    assert [r[0] for r in rows[1:]] == ["T-OWN-0001"]
    stats = handler.get("/console/stats?from=2026-01-01&to=2026-06-30").get_data(as_text=True)
    assert '<strong id="received">1</strong>' in stats and "dongqu" not in stats
    assert handler.get(f"/console/evidence/{places['other']['evidence']}").status_code == 404
    assert handler.get(f"/console/evidence/{places['own']['evidence']}").data == b"\x89PNG own"
    # The admin sees both.
    admin_queue = clients["admin"].get("/console/queue").get_data(as_text=True)
    assert "本分局商户" in admin_queue and "别的分局商户" in admin_queue


def test_editor_and_viewer_see_no_consumer_data(world):
    _, clients = world
    for role in ("editor", "viewer"):
        for url in ("/console/pushes", "/console/stats", "/console/report"):
            page = clients[role].get(url).get_data(as_text=True)
            assert "张三丰" not in page and "138" not in page and "好又多" not in page
