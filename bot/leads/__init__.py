"""Leads (线索): complaints and reports — creation, categories, routing, deadlines, staff notices and progress."""

from __future__ import annotations

from flask import Flask

from bot import config
from bot.config import ConfigError
from bot.leads import deadlines, delivery, notify, recompute  # noqa: F401  (registers the outbox handlers)
from bot.leads.create import create_leads, rules

__all__ = ["create_leads", "init_app", "rules"]

CHANNEL_KEYS = {"email": list, "wecom_webhook": str, "wechat_openids": list, "template_id": str}


def init_app(app: Flask) -> None:
    """Check `[calendar]`, load the editable rules (a broken file stops the start), check per-branch channels,
    register the calendar's commands and its check by the scheduler."""
    deadlines.check_settings(config.source(app), app.config["SETTINGS"]["calendar"])
    found = rules(app)
    _check_branch_channels(app, set(found.branches.branches))
    recompute.init_app(app)


def _check_branch_channels(app: Flask, codes: set[str]) -> None:
    source = config.source(app)
    for code, conf in app.config["SETTINGS"]["leads"]["branches"].items():
        where = f"[leads.branches.{code}]"
        if code not in codes:
            raise ConfigError(source, where, "is not a branch code in the branches file")
        if not isinstance(conf, dict):
            raise ConfigError(source, where, "must be a table")
        for key, value in conf.items():
            if key not in CHANNEL_KEYS:
                raise ConfigError(source, f"{where} {key}", f"unknown key (use {', '.join(CHANNEL_KEYS)})")
            if not isinstance(value, CHANNEL_KEYS[key]):
                raise ConfigError(source, f"{where} {key}", f"must be {CHANNEL_KEYS[key].__name__}")
