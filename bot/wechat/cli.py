"""`flask wechat ...`: the official account on the platform. Other modules may add their commands to wechat_cli."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from bot.config import ROOT, AppSettings
from bot.wechat.errors import WeChatApiError
from bot.wechat.menu import describe, load_menu

MENU_FILE = ROOT / "content" / "menu.toml"

wechat_cli = AppGroup("wechat", help="The official account on the WeChat platform.")
menu_cli = AppGroup("menu", help="The custom menu (content/menu.toml).")
wechat_cli.add_command(menu_cli)

file_option = click.option(
    "--file", "path", type=click.Path(path_type=Path), default=MENU_FILE, show_default=True, help="The menu file."
)


def _load(path: Path) -> dict:
    return load_menu(path, AppSettings.of(current_app).public_url)


def _unhandled_keys(menu: dict) -> list[str]:
    """CLICK keys that no handler of this app answers (a tap would get the default reply)."""
    from bot.wechat.router import get_router

    handled = get_router(current_app).menu_keys
    keys = [b.get("key") for top in menu["button"] for b in [top, *(top.get("sub_button") or [])]]
    return [k for k in keys if k and k not in handled]


@menu_cli.command("check")
@file_option
def check_command(path: Path) -> None:
    """Check the menu file against the platform's limits."""
    menu = _load(path)
    subs = sum(len(b.get("sub_button") or []) for b in menu["button"])
    click.echo(f"{path}: 菜单有效，{len(menu['button'])} 个一级菜单，{subs} 个子菜单")


@menu_cli.command("push")
@file_option
def push_command(path: Path) -> None:
    """Check the menu file and create it on the platform (replacing the current menu)."""
    from bot.wechat.client import get_api

    menu = _load(path)
    for key in _unhandled_keys(menu):
        click.echo(f"提醒：菜单 key {key} 还没有对应的回复处理，用户点击后会收到默认回复", err=True)
    try:
        get_api().menu_create(menu)
    except WeChatApiError as exc:
        raise click.ClickException(f"推送失败：微信返回 {exc.errcode} {exc.errmsg}") from None
    click.echo(f"已推送菜单（{len(menu['button'])} 个一级菜单），用户几分钟内可见")


@menu_cli.command("show")
@click.option("--local", is_flag=True, help="Show the menu file instead of the platform's current menu.")
@file_option
def show_command(local: bool, path: Path) -> None:
    """Print the menu the platform has now (or, with --local, the menu file)."""
    from bot.wechat.client import get_api

    if local:
        click.echo(describe(_load(path)))
        return
    try:
        current = get_api().menu_get()
    except WeChatApiError as exc:
        raise click.ClickException(f"读取失败：微信返回 {exc.errcode} {exc.errmsg}") from None
    if not current.get("menu"):
        click.echo("公众号目前没有自定义菜单（用 flask wechat menu push 推送）")
        return
    click.echo(describe(current["menu"]))
