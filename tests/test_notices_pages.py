"""The public pages as a visitor (or a feed reader, or a search engine) gets them."""

from __future__ import annotations

from datetime import date, timedelta
from html.parser import HTMLParser
from types import SimpleNamespace
from urllib.parse import quote
from xml.etree import ElementTree as ET

import pytest

from bot import clock
from tests.notices_kit import SHIPPED, notice_app, png, write_notice

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


class Elements(HTMLParser):
    """Every start tag of a page with its attributes, as a browser would build them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def meta(self, prop: str) -> str | None:
        return next((a.get("content") for t, a in self.tags if t == "meta" and a.get("property") == prop), None)


@pytest.fixture
def shipped():
    return notice_app(SHIPPED).test_client()


def _newest_shipped():
    """The shipped notice the site shows first: the latest date, read from the files themselves."""
    found = []
    for path in SHIPPED.glob("*.md"):
        head = path.read_text(encoding="utf-8").split("---")[1]
        fields = dict(line.split(":", 1) for line in head.splitlines() if ":" in line and not line.startswith(" "))
        found.append((fields["date"].strip(), path.stem, fields["title"].strip()))
    day, slug, title = max(found)
    return SimpleNamespace(date=date.fromisoformat(day), slug=slug, title=title)


def test_home_introduces_the_service_and_lists_the_latest(shipped):
    page = shipped.get("/").get_data(as_text=True)
    assert "市场监管消费维权服务" in page and "投诉" in page and "12315" in page
    newest = _newest_shipped()
    assert newest.title in page and f'href="/notices/{newest.slug}"' in page


def test_index_is_newest_first_paginated_and_filtered(tmp_path):
    for day in range(1, 6):
        write_notice(tmp_path, f"n{day}", title=f"第{day}号公告", date=f"2022-11-0{day}", keywords=f"[词{day}]")
    write_notice(tmp_path, "guide", title="一篇指南", category="维权指南", date="2022-10-01", keywords="[指南词]")
    client = notice_app(tmp_path, per_page=2).test_client()
    first = client.get("/notices/").get_data(as_text=True)
    assert first.index("第5号公告") < first.index("第4号公告") and "第3号公告" not in first
    assert "共 6 篇，第 1/3 页" in first and 'href="/notices/?page=2"' in first
    last = client.get("/notices/?page=3").get_data(as_text=True)
    assert "一篇指南" in last and "下一页" not in last
    assert client.get("/notices/?page=4").status_code == 404
    assert client.get("/notices/?page=abc").status_code == 404
    guides = client.get("/notices/?category=维权指南").get_data(as_text=True)
    assert "一篇指南" in guides and "第5号公告" not in guides
    by_path = client.get("/notices/category/" + quote("维权指南")).get_data(as_text=True)
    assert "一篇指南" in by_path and "共 1 篇" in by_path
    assert client.get("/notices/category/" + quote("不存在的分类")).status_code == 404
    assert client.get("/notices/?category=abc").status_code == 404


def test_notice_page_has_body_related_and_share_tags(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "cover.png").write_bytes(png())
    body = "## 小标题\n\n| 项目 | 数量 |\n| --- | --- |\n| 删除信息 | 754 条 |\n"
    write_notice(tmp_path, "main", title="主公告", keywords="[双11, 退货]", extra="cover: cover.png", body=body)
    write_notice(tmp_path, "sibling", title="相关的公告", keywords="[退货]", date="2022-10-01")
    write_notice(tmp_path, "other", title="无关的公告", category="通知公告", keywords="[别的]")
    client = notice_app(tmp_path).test_client()
    html = client.get("/notices/main").get_data(as_text=True)
    assert "<h1>主公告</h1>" in html and "2022年11月1日" in html and "消费提示" in html
    assert '<h2 id="小标题">小标题</h2>' in html and "<td>754 条</td>" in html
    assert "相关阅读" in html and "相关的公告" in html and "无关的公告" not in html
    page = Elements(html)
    assert page.meta("og:title") == "主公告"
    assert page.meta("og:description") == "一句话摘要。"
    assert page.meta("og:image") == "https://example.gov.cn/notices/images/cover.png"
    assert page.meta("og:url") == "https://example.gov.cn/notices/main"
    with client.get("/notices/images/cover.png") as image:
        assert image.status_code == 200 and image.mimetype == "image/png" and image.data == png()
    assert client.get("/notices/images/../main.md").status_code == 404


def test_expired_notice_stays_reachable_and_says_so(tmp_path):
    gone = (clock.today("Asia/Shanghai") - timedelta(days=2)).isoformat()
    write_notice(tmp_path, "old", title="旧提示", date="2021-01-01", extra=f"expires: {gone}")
    app = notice_app(tmp_path)
    html = app.test_client().get("/notices/old").get_data(as_text=True)
    assert "已过期" in html and "旧提示" in html
    assert app.extensions["notices"].get("old").expired


XSS_BODY = """
正常的一段话。

<script>alert('x')</script>
<img src=x onerror=alert(1)>
<svg onload=alert(1)><circle/></svg>
<iframe src="https://evil.example/"></iframe>
<p onmouseover="alert(1)" style="position:fixed">悬停</p>
<a href="JaVaScRiPt:alert(1)">大写协议</a>
<a href="java&#x09;script:alert(1)">实体协议</a>
[普通链接](javascript:alert(document.cookie))
<form action="https://evil.example/"><input name="pw"></form>
<object data="x.swf"></object>
"""


def test_xss_payloads_are_stripped(tmp_path):
    write_notice(tmp_path, "xss", body=XSS_BODY)
    html = notice_app(tmp_path).test_client().get("/notices/xss").get_data(as_text=True)
    assert "正常的一段话。" in html and "悬停" in html and "大写协议" in html
    tags = Elements(html).tags
    names = {t for t, _ in tags}
    assert not names & {"script", "svg", "iframe", "form", "input", "object"}
    for tag, attrs in tags:
        assert not [k for k in attrs if k.startswith("on")], (tag, attrs)
        for key in ("href", "src", "action", "data"):
            value = "".join(attrs.get(key, "").split()).lower()
            assert not value.startswith("javascript:"), (tag, attrs)
    assert "alert(" not in html


def test_feed_is_atom(shipped):
    response = shipped.get("/notices/feed.xml")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)
    assert root.tag == f"{ATOM}feed"
    assert root.find(f"{ATOM}id").text and root.find(f"{ATOM}updated").text
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == min(20, len(list(SHIPPED.glob("*.md"))))  # the newest twenty
    first, newest = entries[0], _newest_shipped()
    assert first.find(f"{ATOM}title").text.startswith(newest.title)
    assert first.find(f"{ATOM}link").get("href") == f"https://example.gov.cn/notices/{newest.slug}"
    assert first.find(f"{ATOM}published").text.startswith(f"{newest.date.isoformat()}T")
    assert "<h2" in first.find(f"{ATOM}content").text


def test_sitemap_is_xml_listing_every_notice(shipped):
    response = shipped.get("/sitemap.xml")
    root = ET.fromstring(response.data)
    assert root.tag == f"{SITEMAP}urlset"
    locs = [u.find(f"{SITEMAP}loc").text for u in root.findall(f"{SITEMAP}url")]
    assert "https://example.gov.cn/" in locs
    for path in SHIPPED.glob("*.md"):
        assert f"https://example.gov.cn/notices/{path.stem}" in locs


@pytest.mark.parametrize("url", ["/", "/notices/", "/notices/2022-double11-tips", "/notices/feed.xml", "/sitemap.xml"])
def test_conditional_get_answers_304(shipped, url):
    first = shipped.get(url)
    assert first.status_code == 200 and first.headers["ETag"] and first.headers["Last-Modified"]
    again = shipped.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    since = shipped.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    stale = shipped.get(url, headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200


def test_an_edit_invalidates_the_etag(tmp_path):
    path = write_notice(tmp_path, "a", title="原标题")
    client = notice_app(tmp_path).test_client()
    etag = client.get("/notices/a").headers["ETag"]
    path.write_text(path.read_text(encoding="utf-8").replace("原标题", "改过的标题"), encoding="utf-8")
    response = client.get("/notices/a", headers={"If-None-Match": etag})
    assert response.status_code == 200 and "改过的标题" in response.get_data(as_text=True)


def test_friendly_404(shipped):
    response = shipped.get("/notices/no-such-thing")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "没有找到这个页面" in html and 'action="/notices/search"' in html
    assert shipped.get("/no/such/page").status_code == 404


def test_search_finds_a_word_only_in_a_body(shipped):
    store = shipped.application.extensions["notices"]
    word = "压缩机"
    holders = [n for n in store.all() if word in n.text]
    assert [n.slug for n in holders] == ["2022-fake-repair-warning"]
    assert word not in holders[0].title + holders[0].summary + "".join(holders[0].keywords)
    html = shipped.get("/notices/search?q=" + quote(word)).get_data(as_text=True)
    assert "当心“山寨”家电维修" in html and f"<mark>{word}</mark>" in html
    assert "找到 1 篇" in html


def test_search_edge_cases(shipped):
    empty = shipped.get("/notices/search?q=").get_data(as_text=True)
    assert "可以搜索标题、关键词和正文" in empty
    nothing = shipped.get("/notices/search?q=" + quote("火星旅游")).get_data(as_text=True)
    assert "没有找到与“火星旅游”相关的公告" in nothing
    one_char = shipped.get("/notices/search?q=" + quote("卡")).get_data(as_text=True)
    assert "预付卡消费提示" in one_char
    hostile = shipped.get("/notices/search?q=" + quote("<script>alert(1)</script>" * 20))
    assert hostile.status_code == 200 and "<script>alert" not in hostile.get_data(as_text=True)
    synonym = shipped.get("/notices/search?q=" + quote("双十一")).get_data(as_text=True)
    assert "“双11”网购消费提示" in synonym
