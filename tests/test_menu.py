"""The custom menu: content/menu.toml against the platform's limits (errors at file:line), push and show."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import create_app
from bot.content import ContentError
from bot.db import get_db
from bot.wechat.cli import MENU_FILE
from bot.wechat.menu import load_menu

GOOD = """\
[[button]]
name = "消费提示"
type = "click"
key = "ALERTS"

[[button]]
name = "投诉举报"

  [[button.sub_button]]
  name = "我要投诉"
  type = "click"
  key = "COMPLAIN"

  [[button.sub_button]]
  name = "全部公告"
  type = "view"
  url = "{public_url}/notices/"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "menu.toml"
    path.write_text(text, encoding="utf-8")
    return path


def errors(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ContentError) as caught:
        load_menu(path, "http://localhost")
    return [line.replace(f"{path}:", "menu.toml:") for line in caught.value.message.splitlines()]


def test_the_shipped_menu_is_valid_and_has_every_key():
    menu = load_menu(MENU_FILE, "https://example.gov.cn/")
    buttons = [b for top in menu["button"] for b in [top, *top.get("sub_button", [])]]
    keys = {b["key"]: b["name"] for b in buttons if b.get("type") == "click"}
    assert set(keys) == {"ALERTS", "GUIDES", "COMPLAIN", "PROGRESS", "TOPICS"}
    assert keys["COMPLAIN"] == "我要投诉" and keys["PROGRESS"] == "进度查询" and keys["TOPICS"] == "订阅提醒"
    views = [b["url"] for b in buttons if b.get("type") == "view"]
    assert views == ["https://example.gov.cn/notices/"]


def test_a_good_file_fills_in_the_public_url(tmp_path):
    menu = load_menu(write(tmp_path, GOOD), "http://bureau.example/")
    assert menu["button"][1]["sub_button"][1]["url"] == "http://bureau.example/notices/"


def test_too_many_buttons_points_at_the_fourth(tmp_path):
    four = "".join(f'[[button]]\nname = "按钮{n}"\ntype = "click"\nkey = "K{n}"\n\n' for n in range(4))
    assert errors(tmp_path, four) == ["menu.toml:16: 一级菜单须有 1 至 3 个，现有 4 个"]


def test_names_too_long_at_each_level(tmp_path):
    text = GOOD.replace('name = "消费提示"', 'name = "消费维权提示"').replace("我要投诉", "我要投诉市场监管违法行为")
    assert errors(tmp_path, text) == [
        "menu.toml:2: 一级菜单名称「消费维权提示」太长：最多 4 个汉字或 16 个字节",
        "menu.toml:10: 子菜单名称「我要投诉市场监管违法行为」太长：最多 8 个汉字或 60 个字节",
    ]


def test_ascii_names_count_bytes(tmp_path):
    text = GOOD.replace('name = "消费提示"', 'name = "Consumer alerts!!"')  # 17 bytes
    assert errors(tmp_path, text) == ["menu.toml:2: 一级菜单名称「Consumer alerts!!」太长：最多 4 个汉字或 16 个字节"]


def test_six_sub_buttons(tmp_path):
    subs = "".join(f'[[button.sub_button]]\nname = "子{n}"\ntype = "click"\nkey = "S{n}"\n' for n in range(6))
    assert errors(tmp_path, f'[[button]]\nname = "更多"\n{subs}') == ["menu.toml:23: 子菜单最多 5 个，现有 6 个"]


def test_click_without_key_and_too_long_key(tmp_path):
    text = GOOD.replace('key = "ALERTS"\n', "").replace('key = "COMPLAIN"', f'key = "{"K" * 129}"')
    assert errors(tmp_path, text) == [
        "menu.toml:3: click 类型的菜单须有 key，且不超过 128 个字节",
        "menu.toml:11: click 类型的菜单须有 key，且不超过 128 个字节",  # one line up: line 4 went
    ]


def test_view_urls(tmp_path):
    relative = GOOD.replace("{public_url}/notices/", "/notices/")
    assert errors(tmp_path, relative) == ["menu.toml:17: 网址 '/notices/' 须以 http:// 或 https:// 开头"]
    huge = GOOD.replace("{public_url}/notices/", "http://x/" + "a" * 1020)
    assert errors(tmp_path, huge) == ["menu.toml:17: view 类型的菜单须有网址 url，且不超过 1024 个字节"]


def test_unknown_type_and_duplicate_key(tmp_path):
    text = GOOD.replace('type = "click"\nkey = "ALERTS"', 'type = "clik"\nkey = "ALERTS"').replace("COMPLAIN", "ALERTS")
    assert errors(tmp_path, text) == [
        "menu.toml:3: 菜单类型 type = 'clik' 无效，常用 click（点击）或 view（打开网页）",
        "menu.toml:12: key 'ALERTS' 重复：每个菜单项的 key 须不同",
    ]


def test_broken_toml_and_missing_file(tmp_path):
    [line] = errors(tmp_path, GOOD.replace('name = "消费提示"', "name = 消费提示"))
    assert line.startswith("menu.toml:2: 不是有效的 TOML：")
    with pytest.raises(ContentError, match="找不到文件"):
        load_menu(tmp_path / "absent.toml", "http://localhost")


@pytest.fixture
def cli_app(db_url, standin):
    application = create_app(standin.config(db_url))
    yield application
    get_db(application).engine.dispose()


def test_push_then_show_through_the_cli(cli_app, standin, tmp_path):
    runner = cli_app.test_cli_runner()
    empty = runner.invoke(args=["wechat", "menu", "show"])
    assert empty.exit_code == 0 and "公众号目前没有自定义菜单" in empty.output
    pushed = runner.invoke(args=["wechat", "menu", "push"])
    assert pushed.exit_code == 0, pushed.output
    assert "已推送菜单（3 个一级菜单）" in pushed.output
    [create] = standin.calls("menu/create")
    assert create.body == load_menu(MENU_FILE, "http://localhost")
    assert create.answer == {"errcode": 0, "errmsg": "ok"}
    shown = runner.invoke(args=["wechat", "menu", "show"])
    assert shown.exit_code == 0
    assert "投诉举报\n  - 我要投诉  [click: COMPLAIN]\n  - 进度查询  [click: PROGRESS]" in shown.output
    assert "全部公告  [view: http://localhost/notices/]" in shown.output
    local = runner.invoke(args=["wechat", "menu", "show", "--local", "--file", str(write(tmp_path, GOOD))])
    assert local.output.startswith("消费提示  [click: ALERTS]\n投诉举报\n")


def test_a_broken_file_is_not_pushed(cli_app, standin, tmp_path):
    path = write(tmp_path, GOOD.replace('name = "我要投诉"', 'name = ""'))
    result = cli_app.test_cli_runner().invoke(args=["wechat", "menu", "push", "--file", str(path)])
    assert result.exit_code == 1
    assert f"{path}:10: 缺少菜单名称 name" in result.output
    assert standin.calls() == []


def test_a_refused_push_says_what_the_platform_answered(cli_app, standin):
    standin.fail("menu/create", errcode=40018, errmsg="invalid button name size")
    result = cli_app.test_cli_runner().invoke(args=["wechat", "menu", "push"])
    assert result.exit_code == 1
    assert "推送失败：微信返回 40018 invalid button name size" in result.output


def test_check_command(cli_app, tmp_path):
    runner = cli_app.test_cli_runner()
    good = runner.invoke(args=["wechat", "menu", "check"])
    assert good.exit_code == 0 and "菜单有效，3 个一级菜单，5 个子菜单" in good.output
    bad = runner.invoke(args=["wechat", "menu", "check", "--file", str(write(tmp_path, GOOD + "[[button]]\n"))])
    assert bad.exit_code == 1 and ":18: 缺少菜单名称 name" in bad.output
