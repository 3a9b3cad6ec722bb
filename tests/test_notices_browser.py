"""The pages in a real browser at a phone's width: no horizontal scrolling, Chinese text visible, screenshots kept."""

from __future__ import annotations

import pytest

from tests.browser import ARTIFACTS, MARKS, chromium_context, serve
from tests.notices_kit import SHIPPED, notice_app

CJK_FONTS = ("WenQuanYi", "Noto Sans CJK", "Noto Serif CJK", "Source Han", "Droid Sans Fallback", "AR PL")

pytestmark = MARKS


@pytest.fixture(scope="module")
def server():
    """The notice pages served by a real HTTP server on a free loopback port, in a thread."""
    with serve(notice_app(SHIPPED)) as url:
        yield url


@pytest.fixture(scope="module")
def phone():
    with chromium_context(viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True) as context:
        yield context.new_page()


def cjk_fonts(page, selector: str) -> list[str]:
    """The fonts Chromium actually drew the element's text with that have CJK glyphs (not missing-glyph boxes)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return [f["familyName"] for f in fonts if f["glyphCount"] > 0 and any(k in f["familyName"] for k in CJK_FONTS)]


@pytest.mark.parametrize(
    ("path", "text", "shot"),
    [
        ("/notices/", "全部公告", "notices-index-375.png"),
        ("/notices/2022-online-market-campaign", "责令整改网站", "notice-campaign-375.png"),
        ("/notices/2022-double11-rights-guide", "七天无理由退货", "notice-guide-375.png"),
        ("/", "市场监管消费维权服务", "home-375.png"),
    ],
)
def test_page_fits_a_phone(server, phone, path, text, shot):
    response = phone.goto(server + path)
    assert response.status == 200
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    heading = phone.get_by_text(text, exact=False).first
    assert heading.is_visible()
    box = heading.bounding_box()
    assert box["width"] > 0 and box["x"] + box["width"] <= 375
    assert cjk_fonts(phone, "h1"), "the heading's Chinese was drawn with no CJK font"
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / shot), full_page=True)


def test_wide_table_scrolls_inside_its_own_box(server, phone):
    phone.goto(server + "/notices/2022-double11-rights-guide")
    sizes = phone.evaluate("""() => { const t = document.querySelector('article .body table');
        return [t.scrollWidth, t.clientWidth, t.getBoundingClientRect().right]; }""")
    assert sizes[2] <= 375  # the table's box stays on screen; any extra width scrolls inside it
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
