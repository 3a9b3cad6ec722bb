"""The notice editor in the console: the list, the form writing content/notices/<slug>.md as the command line does,
every save checked before anything is written, edit conflicts, pictures, the audit log and git."""

from __future__ import annotations

import html as html_lib
import io
import re
import struct
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.test import EnvironBuilder

from bot import create_app
from bot.db import get_db
from bot.models import AuditEntry
from tests.conftest import make_config
from tests.console_support import Staff, add_staff
from tests.notices_kit import png, write_notice
from tests.pushes_helpers import notices_config

FORM = {
    "title": "冬季电暖器选购提示",
    "date": "2026-11-30",
    "category": "消费提示",
    "keywords": "电暖器、取暖器",
    "summary": "选购电暖器，认准 3C 标志。",
    "body": "购买电暖器时请认准 **3C 认证标志**，并保存好发票。\n\n## 使用提示\n\n- 远离窗帘\n",
}


@pytest.fixture
def app(db_url, tmp_path):
    made = create_app(make_config(db_url, notices=notices_config(tmp_path)))
    add_staff(made, "editor", "editor", display_name="李编辑")
    add_staff(made, "handler", "handler", "shiqi")
    yield made
    made.extensions["db"].engine.dispose()


@pytest.fixture
def folder(app) -> Path:
    path = Path(app.extensions["notices"].dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def editor(app):
    return Staff(app, "editor")


def create(editor, slug: str = "heater", action: str = "draft", **changes):
    return editor.post("/console/notices/new", data={**FORM, "slug": slug, "action": action, **changes})


def version(editor, slug: str) -> str:
    page = editor.get(f"/console/notices/{slug}/edit").get_data(as_text=True)
    return re.search(r'name="version" value="([0-9a-f]*)"', page).group(1)


def edit(editor, slug: str, action: str = "draft", **changes):
    data = {**FORM, "version": version(editor, slug), "action": action, **changes}
    return editor.post(f"/console/notices/{slug}/edit", data=data)


def audit_rows(app) -> list[tuple[str, str, str]]:
    with get_db(app).scope() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action.like("notice_%")).order_by(AuditEntry.id))
        return [(r.actor_name, r.action, r.detail) for r in rows]


def field_error(html: str, field: str) -> str:
    """The messages shown at a form field (the element marked data-field="<field>", up to the next field)."""
    found = re.search(rf'data-field="{re.escape(field)}"(?:(?!data-field=).)*', html, re.S)
    assert found, field
    return html_lib.unescape(" ".join(re.findall(r'class="field-error" role="alert">([^<]*)<', found.group(0))))


def test_a_draft_written_in_the_form_is_the_file_the_command_line_writes(app, editor, folder):
    response = create(editor)
    assert response.status_code == 303 and response.headers["Location"].endswith("/console/notices/heater/edit")
    text = (folder / "heater.md").read_text(encoding="utf-8")
    assert text.startswith("---\ntitle: 冬季电暖器选购提示\ndate: 2026-11-30\ncategory: 消费提示\n")
    assert "keywords: [电暖器, 取暖器]\n" in text and "draft: true\n---\n\n购买电暖器时请认准" in text
    assert app.test_cli_runner().invoke(args=["notices", "check"]).exit_code == 0
    client = app.test_client()
    assert client.get("/notices/heater").status_code == 404
    assert "冬季电暖器" not in client.get("/notices/").get_data(as_text=True)
    page = editor.get("/console/notices/heater/edit", follow_redirects=True).get_data(as_text=True)
    assert "草稿已保存：网站和公众号都还看不到它。" in page and "/notices/preview/" in page
    listing = editor.get("/console/notices").get_data(as_text=True)
    assert "冬季电暖器选购提示" in listing and '<span class="badge state-1">草稿</span>' in listing
    assert audit_rows(app) == [("editor", "notice_draft", "heater.md")]


def test_publish_then_withdraw(app, editor, folder):
    create(editor)
    assert edit(editor, "heater", "publish").status_code == 303
    assert "draft" not in (folder / "heater.md").read_text(encoding="utf-8")
    page = app.test_client().get("/notices/heater")
    assert page.status_code == 200 and "冬季电暖器选购提示" in page.get_data(as_text=True)
    assert app.extensions["notices"].by_keyword("电暖器怎么选").slug == "heater"
    listing = editor.get("/console/notices").get_data(as_text=True)
    assert '<span class="badge state-1">已发布</span>' in listing and 'href="/notices/heater"' in listing

    assert edit(editor, "heater", "draft").status_code == 303
    assert "draft: true" in (folder / "heater.md").read_text(encoding="utf-8")
    assert app.test_client().get("/notices/heater").status_code == 404
    assert edit(editor, "heater", "anything else").status_code == 303  # any other button value saves a draft
    assert [row[1] for row in audit_rows(app)] == ["notice_draft", "notice_publish", "notice_unpublish", "notice_draft"]


def test_a_change_on_disk_shows_in_the_editor(editor, folder):
    write_notice(folder, "from-git", title="用 git 写的公告", keywords="[冬季]", date="2026-11-01")
    assert "用 git 写的公告" in editor.get("/console/notices").get_data(as_text=True)
    page = editor.get("/console/notices/from-git/edit").get_data(as_text=True)
    assert 'value="用 git 写的公告"' in page and 'value="冬季"' in page and "正文第一段。" in page


BAD = {
    "unknown category": ({"category": "八卦"}, "category", "未知分类“八卦”"),
    "bad date": ({"date": "2026-13-45"}, "date", "date 的日期“2026-13-45”无效"),
    "script tag": ({"body": "第一段。\n\n<script>alert(1)</script>\n"}, "body", "正文不能含有脚本：网站不运行脚本"),
    "template title": ({"title": "在此填写标题"}, "title", "标题还是模板里的“在此填写标题”"),
    "empty summary": ({"summary": " "}, "summary", "summary 应为一段非空的文字"),
    "unknown topic": (
        {"push_at": "2026-12-01T09:00", "push_channel": "template", "push_audience": "topic:冬季"},
        "push.0",
        "push 的 audience“topic:冬季”不是已有的订阅主题",
    ),
    "past push": (
        {"push_at": "2026-11-01T09:00", "push_channel": "template", "push_audience": "all"},
        "push.0",
        "push 的时间 2026-11-01 09:00 已经过去",
    ),
    "front matter in the body": ({"body": "---\ntitle: 旧\n---\n正文"}, "body", "正文开头是一段字段"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_a_save_with_a_problem_is_told_at_the_field_and_writes_nothing(app, editor, folder, case):
    changes, field, message = BAD[case]
    create(editor)
    before = (folder / "heater.md").read_bytes()
    listing = sorted(p.name for p in folder.rglob("*") if ".editing" not in p.parts)
    response = edit(editor, "heater", "publish", **changes)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in field_error(html, field), html
    assert (folder / "heater.md").read_bytes() == before
    assert sorted(p.name for p in folder.rglob("*") if ".editing" not in p.parts) == listing
    assert [row[1] for row in audit_rows(app)] == ["notice_draft"]


def test_a_new_notice_may_not_take_an_address_in_use(editor, folder):
    write_notice(folder, "heater", title="已有的公告", keywords="[别的词]")
    before = (folder / "heater.md").read_bytes()
    response = create(editor, "heater")
    assert response.status_code == 422
    assert "已经有一篇公告使用这个网页地址（heater.md）" in field_error(response.get_data(as_text=True), "slug")
    assert (folder / "heater.md").read_bytes() == before
    bad = create(editor, "Heater Tips!")
    assert "只能用小写英文字母" in field_error(bad.get_data(as_text=True), "slug")


def test_a_keyword_clash_is_told_at_the_keywords(editor, folder):
    write_notice(folder, "old", title="旧公告", keywords="[取暖器]", date="2026-11-01")
    response = create(editor)
    assert response.status_code == 422
    assert "关键词“取暖器”已经属于仍有效的公告 old.md" in field_error(response.get_data(as_text=True), "keywords")
    assert not (folder / "heater.md").exists()


def test_an_edit_conflict_loses_nothing_and_shows_the_difference(app, editor, folder):
    create(editor)
    opened = version(editor, "heater")
    path = folder / "heater.md"
    theirs = path.read_text(encoding="utf-8").replace("保存好发票", "保存好购物小票")
    path.write_text(theirs, encoding="utf-8")  # another editor, or git, changed the file meanwhile
    mine = {**FORM, "version": opened, "action": "draft", "body": "我的新正文：远离窗帘和床单。"}
    response = editor.post("/console/notices/heater/edit", data=mine)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "已被他人修改，您的修改没有保存" in html
    assert "我的新正文：远离窗帘和床单。</textarea>" in html  # the editor's text, still in the form
    diff = re.search(r'<pre class="diff" id="diff">(.*?)</pre>', html, re.S).group(1)
    assert "-购买电暖器时请认准 **3C 认证标志**，并保存好购物小票。" in diff and "+我的新正文" in diff
    assert path.read_text(encoding="utf-8") == theirs
    again = re.search(r'name="version" value="([0-9a-f]*)"', html).group(1)
    assert editor.post("/console/notices/heater/edit", data={**mine, "version": again}).status_code == 303
    assert "我的新正文" in path.read_text(encoding="utf-8")


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00" + b"\x3b"


def upload(editor, data: bytes, name: str = "photo.png"):
    """Post the form with a picture; the multipart body the test client spools to a file is closed afterwards."""
    fields = {**FORM, "version": version(editor, "heater"), "action": "draft", "csrf_token": editor.token}
    builder = EnvironBuilder("/console/notices/heater/edit", method="POST", data=fields)
    builder.files.add_file("cover_file", io.BytesIO(data), name)
    environ = builder.get_environ()
    try:
        response = editor.client.open(environ)
        response.get_data()
        return response
    finally:
        environ["wsgi.input"].close()
        builder.close()


def test_a_cover_picture_is_checked_and_stored_under_a_generated_name(app, editor, folder):
    create(editor)
    assert upload(editor, png(), "../../evil name.png").status_code == 303
    (stored,) = (folder / "images").iterdir()
    assert re.fullmatch(r"[0-9a-f]{16}\.png", stored.name) and stored.read_bytes() == png()
    assert f"cover: {stored.name}\n" in (folder / "heater.md").read_text(encoding="utf-8")
    assert audit_rows(app)[-1][2] == f"heater.md（上传图片 {stored.name}）"


PICTURES = {
    "20 MB": (b"\x89PNG\r\n\x1a\n" + b"\0" * (20 * 1024 * 1024), "图片太大（20.0 MB），不能超过 5 MB"),
    "not a picture": (b"%PDF-1.4 not a picture", "只能上传 JPEG、PNG、GIF 或 WebP 格式的图片"),
    "too wide": (gif(5000, 300), "图片尺寸 5000×300 像素过大"),
    "cut short": (b"\x89PNG\r\n\x1a\n", "无法读出图片的尺寸"),
}


@pytest.mark.parametrize("case", PICTURES, ids=list(PICTURES))
def test_a_bad_picture_is_refused_and_nothing_is_written(editor, folder, case):
    data, message = PICTURES[case]
    create(editor)
    before = (folder / "heater.md").read_bytes()
    response = upload(editor, data)
    assert response.status_code == 422
    assert message in field_error(response.get_data(as_text=True), "cover")
    assert (folder / "heater.md").read_bytes() == before
    assert not (folder / "images").exists() or not list((folder / "images").iterdir())


def test_a_good_picture_is_not_kept_when_the_notice_has_a_problem(editor, folder):
    create(editor)
    response = edit(editor, "heater", category="八卦", cover_file=(io.BytesIO(png()), "a.png"))
    assert response.status_code == 422
    assert "请重新选择图片" in field_error(response.get_data(as_text=True), "cover")
    assert not list((folder / "images").iterdir())


def test_the_preview_renders_the_form_as_the_public_page_does(editor):
    data = {**FORM, "slug": "heater", "body": "**加粗**\n\n<script>alert(1)</script>"}
    response = editor.post("/console/notices/preview", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<h1>冬季电暖器选购提示</h1>" in html
    assert "<strong>加粗</strong>" in html and "alert(1)" not in html
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]


def test_forms_need_their_csrf_token_and_the_editor_role(app, editor, folder):
    bare = editor.client.post("/console/notices/new", data={**FORM, "slug": "heater", "action": "publish"})
    assert bare.status_code == 400 and not (folder / "heater.md").exists()
    handler = Staff(app, "handler")
    assert handler.get("/console/notices").status_code == 403
    assert handler.post("/console/notices/new", data={**FORM, "slug": "heater"}).status_code == 403
    assert handler.post("/console/notices/preview", data=FORM).status_code == 403
    assert not (folder / "heater.md").exists()


def git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True).stdout


def test_each_save_is_a_commit_by_the_editor_when_the_content_is_a_git_tree(editor, folder):
    git(folder, "init", "--quiet")
    create(editor)
    edit(editor, "heater", "publish")
    log = git(folder, "log", "--format=%an <%ae>|%s")
    assert log.splitlines() == [
        "李编辑 <editor@console>|发布公告 heater: 冬季电暖器选购提示",
        "李编辑 <editor@console>|保存公告草稿 heater: 冬季电暖器选购提示",
    ]
    assert git(folder, "status", "--porcelain") == ""
