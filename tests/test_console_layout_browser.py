"""The console's layout in a real browser, on a 390 × 844 phone and a 1366 × 900 desktop, as each role: no page
scrolls sideways, no form control sticks out of its card, and on the phone the header folds into a menu, the queue
is a list of cards, the lead page is one column with its actions one tap away, and every main control is at least
44 px high."""

from __future__ import annotations

import pytest

from bot import create_app
from tests.browser import ARTIFACTS, MARKS, chromium_context, serve
from tests.conftest import make_config
from tests.console_pages_support import LONG_NAME, ROLES, pages, seed
from tests.console_support import PASSWORD

pytestmark = MARKS
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}

# Every visible control that sticks out of the card, filter bar or table row holding it, and (on a phone) every
# main control lower than 44 px: [what, how far or how high].
PROBLEMS = """(phone) => {
  const out = [];
  const seen = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const name = (el) => el.tagName.toLowerCase() + (el.name ? `[name=${el.name}]` : '') + ' ' +
    (el.innerText || el.value || '').trim().slice(0, 12);
  for (const el of document.querySelectorAll('main select, main input, main textarea, main button, main .button')) {
    const box = el.closest('.card, form.filters, table.stack tr, .login');
    if (!box || !seen(el) || el.type === 'hidden') continue;
    const over = el.getBoundingClientRect().right - box.getBoundingClientRect().right;
    if (over > 0.5) out.push(['overflows its card', name(el), Math.round(over)]);
  }
  if (phone) {
    const targets = 'button, .button, select, input[type=text], input[type=password], input[type=date], ' +
      'textarea, .menu-button, .pager a, .thumb-bar a, td.lead-link a, label.check';
    for (const el of document.querySelectorAll(targets)) {
      if (!seen(el)) continue;
      const h = el.getBoundingClientRect().height;
      if (h < 44) out.push(['tap target under 44 px', name(el), Math.round(h)]);
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """The whole app on a real HTTP server, with something on every console page."""
    from bot import clock
    from tests.timekeeping import START

    clock.set_now(START, tick=True)
    app = create_app(make_config(f"sqlite:///{tmp_path_factory.mktemp('layout') / 'bot.db'}"))
    ids = seed(app)
    with serve(app) as url:
        yield url, ids
    app.extensions["db"].engine.dispose()


def _sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/console/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    assert "/console/login" not in page.url


def _check(page, phone: bool) -> list:
    """What is wrong with the page as shown: a sideways scroll, a control outside its card, a small tap target."""
    problems = []
    width = page.evaluate("document.scrollingElement.scrollWidth")
    inner = page.evaluate("window.innerWidth")
    if width > inner:
        problems.append(["scrolls sideways", width, inner])
    return problems + page.evaluate(PROBLEMS, phone)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_every_console_page_fits_the_screen_for_every_role(console, viewport):
    base, ids = console
    phone = viewport is PHONE
    found = {}
    with chromium_context(viewport=viewport, locale="zh-CN", has_touch=phone) as context:
        page = context.new_page()
        page.goto(base + "/console/login")
        if problems := _check(page, phone):
            found["login"] = problems
        for role, username in ROLES.items():
            context.clear_cookies()
            _sign_in(page, base, username)
            for path in pages(role, ids):
                response = page.goto(base + path)
                assert response.status == (404 if path.endswith("nowhere") else 200), (role, path)
                problems = _check(page, phone)
                if problems:
                    found[f"{role} {path}"] = problems
    assert found == {}


def test_phone_header_is_one_line_with_a_menu(console):
    base, _ids = console
    with chromium_context(viewport=PHONE, locale="zh-CN", has_touch=True) as context:
        page = context.new_page()
        _sign_in(page, base, "boss")
        header = page.locator("header.top")
        assert header.bounding_box()["height"] <= 60  # brand and menu button on one row, not a character a line
        assert not page.get_by_role("link", name="审计日志").is_visible()
        page.get_by_text("菜单").click()
        links = page.locator("header.top nav a")
        assert links.count() == 9 and all(b["height"] >= 44 for b in (links.nth(i).bounding_box() for i in range(9)))
        page.get_by_role("link", name="审计日志").click()
        page.wait_for_url("**/console/audit")
        assert not page.get_by_role("link", name="账号").is_visible()  # folded again on the next page


def test_phone_queue_is_a_list_of_cards(console):
    base, ids = console
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_context(viewport=PHONE, locale="zh-CN", has_touch=True) as context:
        page = context.new_page()
        _sign_in(page, base, "li")
        page.screenshot(path=str(ARTIFACTS / "console-queue-phone.png"), full_page=True)
        cards = page.locator("#queue tbody tr")
        assert cards.count() == 3 and page.locator("#queue thead").is_hidden()
        first, second = cards.nth(0).bounding_box(), cards.nth(1).bounding_box()
        assert first["width"] <= PHONE["width"] and second["y"] >= first["y"] + first["height"]  # one under another
        card = cards.filter(has_text=LONG_NAME).inner_text()
        for text in ("T2026", "新线索", LONG_NAME, "2026-12-03", "剩 3 个工作日", "石岐街道分局"):
            assert text in card
        row = cards.filter(has_text=LONG_NAME)
        box = {name: row.locator(f"td.{name}").bounding_box() for name in ("lead-link", "status", "business", "due")}
        middle = {name: b["y"] + b["height"] / 2 for name, b in box.items()}
        assert abs(middle["lead-link"] - middle["status"]) < 10  # the ticket and its status on the top line
        assert middle["lead-link"] < middle["business"] < middle["due"]  # then the business, then the deadline
        cards.filter(has_text=LONG_NAME).locator("td.lead-link a").tap()
        page.wait_for_url(f"**/console/leads/{ids['complaint']}")


def test_phone_lead_page_is_one_column_with_the_actions_a_tap_away(console):
    base, ids = console
    with chromium_context(viewport=PHONE, locale="zh-CN", has_touch=True) as context:
        page = context.new_page()
        _sign_in(page, base, "li")
        page.goto(f"{base}/console/leads/{ids['complaint']}")
        page.screenshot(path=str(ARTIFACTS / "console-lead-phone.png"), full_page=True)
        lefts = {round(b["x"]) for b in (c.bounding_box() for c in page.locator(".cards > .card").all())}
        assert len(lefts) == 1  # one column
        bar = page.locator(".thumb-bar")
        box = bar.bounding_box()
        assert box["y"] + box["height"] == pytest.approx(PHONE["height"], abs=1)  # at the bottom, under the thumb
        bar.get_by_role("link", name="办理").tap()
        refusal = page.locator("form.action", has=page.locator("input[name=to][value='不予受理']"))
        assert refusal.locator("select[name=ground]").is_visible()
        assert refusal.locator("select[name=ground]").bounding_box()["width"] <= PHONE["width"] - 24
        bar.get_by_role("link", name="答复").tap()
        assert page.get_by_role("button", name="发送答复").is_visible()


def test_desktop_lead_page_keeps_the_refusal_grounds_inside_their_card(console):
    base, ids = console
    with chromium_context(viewport=DESKTOP, locale="zh-CN") as context:
        page = context.new_page()
        _sign_in(page, base, "li")
        page.goto(f"{base}/console/leads/{ids['complaint']}")
        card = page.locator("#actions").bounding_box()
        ground = page.locator("form.action select[name=ground]").bounding_box()
        assert ground["x"] + ground["width"] <= card["x"] + card["width"]
        assert page.locator(".thumb-bar").is_hidden() and page.locator(".menu-button").is_hidden()
        assert page.locator("header.top nav a").count() == 4  # handler: queue, export, statistics, report
