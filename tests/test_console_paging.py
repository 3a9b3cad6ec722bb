"""The console at scale: queue pages read in two parts keep one order, working days from the running table, ANALYZE."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from bot import create_app
from bot.console import clock, planner
from bot.db import get_db
from bot.leads import deadlines
from tests.conftest import make_config
from tests.console_support import Staff, add_lead, add_staff


@pytest.fixture
def small_pages(db_url):
    """The app with three leads a page, so a dozen leads span several pages."""
    application = create_app(make_config(db_url, console={"page_size": 3}))
    yield application
    application.extensions["db"].engine.dispose()


def _tickets(page: str) -> list[str]:
    return re.findall(r'<td class="lead-link"><a href="/console/leads/\d+">(T\d+)</a></td>', page)


def test_pages_continue_exactly_across_leads_without_a_deadline(small_pages):
    """Eight leads with deadlines (ties included) and four without: every page continues where the last ended."""
    app = small_pages
    add_staff(app, "admin", "admin")
    add_staff(app, "h", "handler", "shiqi")
    leads = []  # (next_due or None, id, ticket, branch)
    dues = [date(2026, 6, 3), date(2026, 6, 1), None, date(2026, 6, 3), None, date(2026, 6, 2), date(2026, 6, 1)]
    dues += [None, date(2026, 6, 9), date(2026, 6, 3), None, date(2026, 5, 30)]
    for i, due in enumerate(dues):
        branch = "dongqu" if i % 4 == 3 else "shiqi"
        status = "已立案" if due is None else "新线索"
        ticket = f"T{900 + i}"
        lead_id = add_lead(app, ticket=ticket, kind="report", status=status, next_due=due, branch=branch)
        leads.append((due, lead_id, ticket, branch))
    add_lead(app, ticket="T999", status="已办结", next_due=None)  # closed: not in the queue

    def expected(rows):
        return [t for _d, _i, t, _b in sorted(rows, key=lambda r: (r[0] is None, r[0] or date.min, r[1]))]

    for user, rows in (("admin", leads), ("h", [r for r in leads if r[3] == "shiqi"])):
        staff, seen = Staff(app, user), []
        first = staff.get("/console/queue").get_data(as_text=True)
        pages = int(re.search(r"第 1 / (\d+) 页", first).group(1))
        assert f'<strong id="total">{len(rows)}</strong>' in first and pages == -(-len(rows) // 3)
        for number in range(1, pages + 1):
            seen += _tickets(staff.get(f"/console/queue?page={number}").get_data(as_text=True))
        assert seen == expected(rows)
    assert _tickets(Staff(app, "h").get("/console/queue?status=all&page=9").get_data(as_text=True))[-1] == "T999"


def test_days_left_from_the_running_table_matches_counting_day_by_day(app):
    """Across Spring Festival, National Day, year ends and both directions, including a config holiday."""
    cal = clock.calendar(app)
    start = date(2025, 12, 20)
    for offset in range(0, 420, 7):
        today = start + timedelta(days=offset)
        for span in (-400, -61, -8, -1, 0, 1, 3, 9, 45, 130):
            due = today + timedelta(days=span)
            assert clock.days_left(app, today, due) == deadlines.working_days_left(today, due, cal.cal), (today, due)
    assert clock.days_left(app, date(2026, 5, 6), None) is None
    far = date(2026, 5, 6), date(2090, 1, 1)  # wider than the table keeps: counted day by day, same answer
    assert clock.days_left(app, *far) == deadlines.working_days_left(*far, cal.cal)


def test_planner_statistics_refresh_on_sqlite_only(app):
    add_lead(app)
    ran = planner.refresh(app)
    assert ran is get_db(app).is_sqlite
    if ran:
        with get_db(app).engine.connect() as conn:
            tables = {row[0] for row in conn.execute(text("SELECT tbl FROM sqlite_stat1"))}
        assert "lead" in tables
    assert "sqlite_analyze" in app.extensions["periodic_jobs"]


def _options(page: str, name: str) -> list[str]:
    menu = re.search(rf'<select name="{name}">(.*?)</select>', page, re.S)
    return re.findall(r'<option value="([^"]+)"', menu.group(1)) if menu else []


def test_filter_menus_list_every_value_once_in_the_databases_order(app):
    """The admin's menus come from a loose index scan: the same values, in the same order, as SELECT DISTINCT ...
    ORDER BY on this database (NULL and empty branches left out); a handler's from their own branch only."""
    categories = ["预付卡", "食品安全", "Zeta", "其他", "医疗美容", "预付卡", "aardvark"]
    branches = ["shiqi", None, "dongqu", "", "xiqu", "shiqi", "dongqu"]
    for category, branch in zip(categories, branches, strict=True):
        add_lead(app, category=category, branch=branch)
    add_lead(app, category="汽车", branch="xiqu", status="已办结", next_due=None)  # closed leads count too
    add_staff(app, "admin", "admin")
    add_staff(app, "h", "handler", "dongqu")
    with get_db(app).engine.connect() as conn:
        want_categories = [r[0] for r in conn.execute(text("SELECT DISTINCT category FROM lead ORDER BY category"))]
        want_branches = [r[0] for r in conn.execute(text("SELECT DISTINCT branch FROM lead ORDER BY branch")) if r[0]]
    assert sorted(want_categories) == sorted({*categories, "汽车"})
    assert sorted(want_branches) == ["dongqu", "shiqi", "xiqu"]
    page = Staff(app, "admin").get("/console/queue").get_data(as_text=True)
    assert _options(page, "category") == want_categories
    assert _options(page, "branch") == want_branches
    triage = Staff(app, "admin").get("/console/triage").get_data(as_text=True)
    assert "dongqu" in triage and "xiqu" in triage  # the assign menu still offers every branch in use
    mine = Staff(app, "h").get("/console/queue").get_data(as_text=True)
    assert sorted(_options(mine, "category")) == sorted(["Zeta", "aardvark"]) and _options(mine, "branch") == []


def test_a_filtered_deep_page_reads_the_right_rows(small_pages):
    """The page's ids are chosen with every filter applied (here a category and a search), then read whole."""
    app = small_pages
    add_staff(app, "admin", "admin")
    wanted = []
    for i in range(14):
        due = date(2026, 6, 1) + timedelta(days=i % 4)
        category = "预付卡" if i % 2 else "食品安全"
        name = "好又多超市" if i % 3 else "大润发"
        lead_id = add_lead(app, ticket=f"T{700 + i}", category=category, business_name=name, next_due=due)
        if category == "预付卡" and name == "好又多超市":
            wanted.append((due, lead_id, f"T{700 + i}"))
    staff, seen = Staff(app, "admin"), []
    for number in (1, 2):
        seen += _tickets(staff.get(f"/console/queue?category=预付卡&q=好又多&page={number}").get_data(as_text=True))
    assert seen == [t for _d, _i, t in sorted(wanted)]
    assert len(seen) == 5
