"""Drafts: off every public page until published; `notices new` writes one, `notices check` refuses the untouched
template, `notices publish` publishes, `notices preview-link` shows a draft to whoever holds the signed link."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from bot import clock
from tests.notices_kit import notice_app, write_notice

SLUG = "2026-winter-tips"


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["notices", *args])


@pytest.fixture
def site(tmp_path):
    """A published notice and a draft sharing its category and a keyword theme."""
    write_notice(tmp_path, "published", title="冬季取暖消费提示", keywords="[取暖]", date="2026-11-01")
    write_notice(
        tmp_path,
        "secret-draft",
        title="尚未发布的草稿标题",
        keywords="[草稿专用词]",
        date="2026-11-20",
        extra="draft: true",
        body="草稿的正文，独有的字句：蓝色雪花。\n",
    )
    app = notice_app(tmp_path)
    app.secret_key = "test-secret"
    return app


def test_a_draft_is_on_no_public_page_nor_in_the_bot(site):
    client = site.test_client()
    assert client.get("/notices/secret-draft").status_code == 404
    pages = ["/", "/notices/", "/notices/category/消费提示", "/notices/feed.xml", "/sitemap.xml"]
    pages += ["/notices/search?q=尚未发布", "/notices/search?q=蓝色雪花", "/notices/published"]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        text = response.get_data(as_text=True)
        assert "尚未发布的草稿标题" not in text and "secret-draft" not in text, page
    store = site.extensions["notices"]
    assert store.by_keyword("我想问草稿专用词") is None  # the bot's keyword look-up
    assert [n.slug for n in store.all()] == ["published"]
    assert [n.slug for n in store.drafts()] == ["secret-draft"]
    assert run(site, "check").exit_code == 0


def test_the_untouched_template_fails_the_check_with_file_and_line(tmp_path):
    app = notice_app(tmp_path)
    assert run(app, "new", SLUG).exit_code == 0
    path = tmp_path / f"{SLUG}.md"
    result = run(app, "check")
    assert result.exit_code == 1
    assert f"{path}:2: 标题还是模板里的“在此填写标题”" in result.output
    assert f"{path}:5: 关键词还是模板里的“在此填写关键词”" in result.output
    assert f"{path}:6: 摘要还是模板里的示例文字" in result.output
    assert f"{path}:12: 正文还是模板里的示例文字（“在此用 Markdown 撰写正文。”）" in result.output
    assert app.test_client().get(f"/notices/{SLUG}").status_code == 404
    assert "在此填写标题" not in app.test_client().get("/notices/").get_data(as_text=True)


def _fill_in(path) -> None:
    text = path.read_text(encoding="utf-8")
    text = text.replace("在此填写标题", "冬季电暖器选购提示").replace("在此填写关键词", "电暖器, 取暖器")
    text = text.replace("在此用一两句话概括，会显示在列表和公众号图文消息里。", "选购电暖器，认准 3C 标志。")
    body = text.index("在此用 Markdown 撰写正文。")
    path.write_text(text[:body] + "购买电暖器时请认准 3C 认证标志，并保存好发票。\n", encoding="utf-8")


def test_publish_refuses_the_template_then_publishes_by_removing_the_flag(tmp_path):
    app = notice_app(tmp_path)
    run(app, "new", SLUG)
    path = tmp_path / f"{SLUG}.md"
    refused = run(app, "publish", SLUG)
    assert refused.exit_code == 1
    assert f"{path}:2: 标题还是模板里的“在此填写标题”" in refused.output and "没有发布" in refused.output
    assert "draft: true" in path.read_text(encoding="utf-8")

    _fill_in(path)
    before = path.read_text(encoding="utf-8")
    result = run(app, "publish", SLUG)
    assert result.exit_code == 0, result.output
    assert f"已发布：https://example.gov.cn/notices/{SLUG}" in result.output
    after = path.read_text(encoding="utf-8")
    assert "draft" not in after
    assert after == "".join(line for line in before.splitlines(keepends=True) if not line.startswith("draft:"))
    page = app.test_client().get(f"/notices/{SLUG}")
    assert page.status_code == 200 and "冬季电暖器选购提示" in page.get_data(as_text=True)
    assert app.extensions["notices"].by_keyword("电暖器怎么选").slug == SLUG
    again = run(app, "publish", SLUG)
    assert again.exit_code == 0 and "已经是发布状态" in again.output
    missing = run(app, "publish", "no-such-notice")
    assert missing.exit_code == 1 and "没有这篇公告" in missing.output


def test_publish_reminds_of_an_old_date(tmp_path):
    app = notice_app(tmp_path)
    run(app, "new", SLUG)
    _fill_in(tmp_path / f"{SLUG}.md")
    clock.advance(timedelta(days=3))
    result = run(app, "publish", SLUG)
    assert result.exit_code == 0
    assert "公告日期仍是 2026-11-30；如要显示今天的日期，请把 date 改为 2026-12-03" in result.output


def test_draft_must_be_true_or_false(tmp_path):
    path = write_notice(tmp_path, "unsure", extra="draft: 也许")
    app = notice_app(tmp_path)
    result = run(app, "check")
    assert result.exit_code == 1
    assert f"{path}:7: draft 只能写 true（草稿）或 false（发布），现在是“也许”" in result.output
    assert app.test_client().get("/notices/unsure").status_code == 404  # kept as a draft: the safe side
    write_notice(tmp_path, "unsure", extra="draft: false")
    assert app.test_client().get("/notices/unsure").status_code == 200


def test_a_keyword_clash_is_reported_on_the_file_that_brought_it(tmp_path):
    first = write_notice(tmp_path, "first", date="2026-11-01", keywords="[电暖器]")
    second = write_notice(tmp_path, "second", date="2026-11-01", keywords="[取暖, 电暖器]")
    os.utime(first, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    os.utime(second, ns=(1_700_000_100_000_000_000, 1_700_000_100_000_000_000))
    app = notice_app(tmp_path)
    output = run(app, "check").output
    assert f"{second}:5: 关键词“电暖器”已经属于仍有效的公告 first.md" in output  # same date: the later edit
    assert "first.md:" not in output

    draft = write_notice(tmp_path, "draft", date="2026-11-30", keywords="[取暖]", extra="draft: true")
    output = run(app, "check").output
    assert f"{draft}:5: 关键词“取暖”已经属于仍有效的公告 second.md" in output  # a draft claims its words too


def test_a_link_to_a_draft_is_reported_on_the_published_notice(tmp_path):
    write_notice(tmp_path, "coming", keywords="[甲]", extra="draft: true")
    linking = write_notice(tmp_path, "linking", keywords="[乙]", body="详见[新公告](/notices/coming)。\n")
    write_notice(tmp_path, "draft-linking", keywords="[丙]", extra="draft: true", body="见[它](/notices/coming)。\n")
    output = run(notice_app(tmp_path), "check").output
    assert f"{linking}:8: 链接 /notices/coming 指向的公告还是草稿" in output
    assert "draft-linking.md:" not in output  # a draft may link to a draft


def _preview_path(app, slug: str) -> str:
    result = run(app, "preview-link", slug)
    assert result.exit_code == 0, result.output
    return urlsplit(result.output.strip().splitlines()[-1]).path


def test_the_preview_link_shows_the_draft_for_seven_days(site):
    result = run(site, "preview-link", "secret-draft")
    assert "草稿预览链接（2026-12-07 10:00 前有效" in result.output
    path = _preview_path(site, "secret-draft")
    client = site.test_client()
    page = client.get(path)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "草稿预览" in text and "尚未发布的草稿标题" in text and "蓝色雪花" in text
    assert page.headers["Cache-Control"] == "no-store" and 'name="robots" content="noindex"' in text
    clock.advance(timedelta(days=6, hours=23))
    assert client.get(path).status_code == 200
    clock.advance(timedelta(hours=2))
    expired = client.get(path)
    assert expired.status_code == 404 and "没有找到这个页面" in expired.get_data(as_text=True)


@pytest.mark.parametrize(
    "forge",
    [
        lambda path: path[:-2] + ("AA" if not path.endswith("AA") else "BB"),  # the signature altered
        lambda path: path.replace(path.split("/")[-1].split(".")[0], "InB1Ymxpc2hlZCI"),  # another slug, same sig
        lambda path: "/notices/preview/not-a-token",
        lambda path: "/notices/preview/" + "x" * 2000,
    ],
)
def test_a_forged_preview_link_is_a_404(site, forge):
    path = _preview_path(site, "secret-draft")
    assert site.test_client().get(forge(path)).status_code == 404


def test_a_link_signed_with_another_secret_is_a_404(site, tmp_path):
    path = _preview_path(site, "secret-draft")
    other = notice_app(tmp_path)
    other.secret_key = "another-secret"
    assert other.test_client().get(path).status_code == 404
    assert site.test_client().get(path).status_code == 200


def test_once_published_the_preview_link_leads_to_the_page(site, tmp_path):
    path = _preview_path(site, "secret-draft")
    draft = tmp_path / "secret-draft.md"
    draft.write_text(draft.read_text(encoding="utf-8").replace("draft: true\n", ""), encoding="utf-8")
    response = site.test_client().get(path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/notices/secret-draft")
    result = run(site, "preview-link", "secret-draft")
    assert "已经发布，直接打开" in result.output and re.search(r"/notices/secret-draft$", result.output.strip())
