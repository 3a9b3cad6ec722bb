"""The editors' side: every broken file gets file:line and what to fix; the shipped notices pass; edits reload."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from bot import clock
from notices import NoticeStore
from tests.notices_kit import SHIPPED, notice_app, png, write_notice


def check(app) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["notices", "check"])
    return result.exit_code, result.output


def test_shipped_notices_pass_the_check():
    code, output = check(notice_app(SHIPPED))
    assert code == 0, output
    assert "没有发现问题" in output
    assert len(NoticeStore(SHIPPED).all()) >= 6


def test_shipped_notices_pass_through_the_bot_app(runner):
    """`flask --app bot notices check` on the default content directory."""
    result = runner.invoke(args=["notices", "check"])
    assert result.exit_code == 0, result.output
    assert "content/notices" in result.output


# (file name, fields, body, expected line, expected words in the message)
CASES = {
    "missing field": ({"drop": "summary"}, "", 1, "缺少必填字段 summary"),
    "unknown field": ({"extra": "autor: 张三"}, "", 7, "未知字段 autor"),
    "unknown category": ({"category": "消费警示"}, "", 4, "未知分类“消费警示”"),
    "bad date": ({"date": "2022-13-01"}, "", 3, "日期“2022-13-01”无效"),
    "date not a date": ({"date": "十一月一日"}, "", 3, "YYYY-MM-DD"),
    "keywords not a list": ({"keywords": "双11"}, "", 5, "keywords 应为关键词列表"),
    "missing cover": ({"extra": "cover: nope.jpg"}, "", 7, "封面图片 images/nope.jpg 不存在"),
    "bad expires": ({"extra": "expires: 2022-02-30"}, "", 7, "expires 的日期“2022-02-30”无效"),
    "broken link": ({}, "第一段。\n\n详见[这里](/notices/no-such-notice)。\n", 10, "no-such-notice 指向的公告不存在"),
    "missing image": ({}, "第一段。\n![图](images/gone.png)\n", 9, "图片 images/gone.png 不存在"),
    "script tag": ({}, "第一段。\n\n<script>alert(1)</script>\n", 10, "<script> 会被安全过滤删除"),
    "event handler": ({}, '<span onclick="steal()">点我</span>\n', 8, "属性 onclick 会被安全过滤删除"),
    "javascript link": ({}, "[点我](javascript:alert(1))\n", 8, "不安全的协议 javascript:"),
    "iframe": ({}, "一\n二\n<iframe src='https://x.example'></iframe>\n", 10, "<iframe> 会被安全过滤删除"),
    "html comment": ({}, "<!-- 草稿 -->\n", 8, "HTML 注释会被安全过滤删除"),
    "push in the past": (
        {"extra": 'push:\n  - {at: "2020-01-01 10:00", channel: mass, audience: all}'},
        "",
        8,
        "push 的时间 2020-01-01 10:00 已经过去",
    ),
    "push bad channel": (
        {"extra": 'push:\n  - at: "2099-01-01 10:00"\n    channel: sms\n    audience: all'},
        "",
        8,
        "channel“sms”无效",
    ),
    "push bad audience": (
        {"extra": 'push:\n  - {at: "2099-01-01 10:00", channel: template, audience: everyone}'},
        "",
        8,
        "audience“everyone”无效",
    ),
    "yaml syntax": ({"summary": '"没有结束的引号'}, "", 6, "字段部分的格式有误"),
    "duplicate key": ({"extra": "title: 又一个标题"}, "", 7, "字段 title 重复出现（第一次在第 2 行）"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_broken_file_names_file_line_and_problem(tmp_path, case):
    fields, body, line, words = CASES[case]
    path = write_notice(tmp_path, "broken", body=body or "正文。\n", **fields)
    write_notice(tmp_path, "fine", keywords="[别的词]")
    code, output = check(notice_app(tmp_path))
    assert code == 1
    lines = output.splitlines()
    wanted = f"{path}:{line}: "
    assert any(out.startswith(wanted) and words in out for out in lines), output
    assert not any("fine.md" in out for out in lines), output
    assert lines[-1].startswith("共检查 2 个文件，发现") and "个问题" in lines[-1]


def test_no_front_matter_and_unclosed_front_matter(tmp_path):
    (tmp_path / "plain.md").write_text("# 只有正文\n", encoding="utf-8")
    (tmp_path / "open.md").write_text("---\ntitle: 标题\n正文\n", encoding="utf-8")
    code, output = check(notice_app(tmp_path))
    assert code == 1
    assert f"{tmp_path / 'plain.md'}:1: 文件应以一行 --- 开头" in output
    assert f"{tmp_path / 'open.md'}:1: 字段部分没有以一行 --- 结束" in output


def test_duplicate_slug(tmp_path):
    write_notice(tmp_path, "Tips", keywords="[甲]")
    second = write_notice(tmp_path, "tips", keywords="[乙]")
    code, output = check(notice_app(tmp_path))
    assert code == 1
    assert f"{second}:1: 与 Tips.md 的网页地址相同（/notices/tips）" in output


def test_bad_file_name(tmp_path):
    path = write_notice(tmp_path, "双11提示")
    code, output = check(notice_app(tmp_path))
    assert code == 1 and f"{path}:1: 文件名只能用英文字母、数字和连字符" in output


def test_keyword_claimed_by_two_live_notices(tmp_path):
    write_notice(tmp_path, "older", date="2022-11-01", keywords="[双11, 退货]")
    newer = write_notice(tmp_path, "newer", date="2022-11-05", keywords="[双１１]")  # full-width: the same word
    gone = (clock.today("Asia/Shanghai") - timedelta(days=3)).isoformat()
    write_notice(tmp_path, "expired", date="2021-11-01", keywords="[退货]", extra=f"expires: {gone}")
    code, output = check(notice_app(tmp_path))
    assert code == 1
    # Reported on the file that brought the clash in (the newer one), naming the notice that had the word first.
    assert f"{newer}:5: 关键词“双１１”已经属于仍有效的公告 older.md" in output
    assert "older.md:" not in output
    assert "expired.md" not in output  # an expired notice claims nothing
    assert "退货" not in output


def test_valid_push_plan_is_data(tmp_path):
    extra = 'push:\n  - {at: "2099-11-10 20:00", channel: template, audience: "topic:网购"}'
    write_notice(tmp_path, "planned", extra=extra)
    app = notice_app(tmp_path)
    assert check(app)[0] == 0
    plan = app.extensions["notices"].get("planned").push
    assert plan[0]["channel"] == "template" and plan[0]["audience"] == "topic:网购"
    assert plan[0]["at"].isoformat() == "2099-11-10T20:00:00+08:00"


def test_cover_present_passes(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "c.png").write_bytes(png())
    write_notice(tmp_path, "with-cover", extra="cover: c.png", body="![图](images/c.png)\n")
    app = notice_app(tmp_path)
    assert check(app)[0] == 0
    assert app.extensions["notices"].get("with-cover").cover == "c.png"


def test_new_writes_a_draft_dated_today(tmp_path):
    app = notice_app(tmp_path)
    result = app.test_cli_runner().invoke(args=["notices", "new", "2026-winter-tips"])
    assert result.exit_code == 0, result.output
    assert "已创建草稿" in result.output and "flask notices publish 2026-winter-tips" in result.output
    text = (tmp_path / "2026-winter-tips.md").read_text(encoding="utf-8")
    store = app.extensions["notices"]
    assert store.get("2026-winter-tips") is None  # a draft: not published
    assert f"date: {clock.today('Asia/Shanghai').isoformat()}" in text
    assert store.draft("2026-winter-tips").date == clock.today("Asia/Shanghai")
    assert check(app)[0] == 1  # the untouched template does not pass (tests/test_notices_drafts.py)
    again = app.test_cli_runner().invoke(args=["notices", "new", "2026-winter-tips"])
    assert again.exit_code != 0 and "已经存在" in again.output
    bad = app.test_cli_runner().invoke(args=["notices", "new", "../evil"])
    assert bad.exit_code != 0 and not (tmp_path.parent / "evil.md").exists()


def test_an_edit_shows_without_restart_and_only_changed_files_are_read(tmp_path):
    path = write_notice(tmp_path, "a", title="第一版标题")
    write_notice(tmp_path, "b", keywords="[乙]")
    app = notice_app(tmp_path)
    client = app.test_client()
    assert "第一版标题" in client.get("/notices/a").get_data(as_text=True)
    store = app.extensions["notices"]
    reads = store.reads
    client.get("/notices/a")
    assert store.reads == reads  # nothing changed: nothing read
    path.write_text(path.read_text(encoding="utf-8").replace("第一版标题", "修改后的标题"), encoding="utf-8")
    assert "修改后的标题" in client.get("/notices/a").get_data(as_text=True)
    assert store.reads == reads + 1  # only the edited file
    write_notice(tmp_path, "c", title="新加的公告", keywords="[丙]")
    assert "新加的公告" in client.get("/notices/").get_data(as_text=True)
    os.remove(path)
    assert client.get("/notices/a").status_code == 404


def test_files_are_looked_at_at_most_once_per_interval(tmp_path):
    path = write_notice(tmp_path, "a", title="旧标题")
    store = NoticeStore(tmp_path, interval=3600)
    assert store.get("a").title == "旧标题"
    path.write_text(path.read_text(encoding="utf-8").replace("旧标题", "新标题呀"), encoding="utf-8")
    assert store.get("a").title == "旧标题"  # within the interval: no stat, no read
    store.refresh(force=True)
    assert store.get("a").title == "新标题呀"


def test_a_broken_edit_keeps_the_others_served(tmp_path):
    write_notice(tmp_path, "good", title="好的公告")
    write_notice(tmp_path, "bad", date="2022-02-30")
    app = notice_app(tmp_path)
    store = app.extensions["notices"]
    assert [n.slug for n in store.all()] == ["good"]
    assert app.test_client().get("/notices/bad").status_code == 404


def test_every_problem_of_a_broken_file_is_reported_in_one_run(tmp_path):
    body = '正文。\n[坏链](/notices/nope)\n<b onclick="x">粗</b>\n'
    path = write_notice(tmp_path, "many", category="消费警告", date="2022-11-31", body=body)
    code, output = check(notice_app(tmp_path))
    assert code == 1
    for line, words in [(3, "日期"), (4, "未知分类"), (9, "/notices/nope 指向的公告不存在"), (10, "属性 onclick")]:
        assert any(out.startswith(f"{path}:{line}: ") and words in out for out in output.splitlines()), output
    assert "发现 4 个问题" in output
