"""The WeChat service of the city market-regulation bureau: `flask --app bot` builds it with create_app()."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from bot import (
    config,
    console,
    db,
    dialogue,
    guards,
    health,
    leads,
    logs,
    notice_replies,
    outbox,
    privacy,
    pushes,
    sandbox,
    scheduler,
)
from bot.wechat import client as wechat_client
from bot.wechat import views as webhook


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings, logging, personal-data keys, database, then each audience's blueprint."""
    app = Flask(__name__, instance_path=str(config.ROOT / "instance"))
    config.init_app(app, test_config)
    logs.init_app(app)
    guards.init_app(app)
    privacy.init_app(app)
    db.init_app(app)
    app.register_blueprint(health.bp)
    wechat_client.init_app(app)
    webhook.init_app(app)
    sandbox.init_app(app)
    console.init_app(app)
    notice_replies.init_app(app)
    outbox.init_app(app)
    leads.init_app(app)
    dialogue.init_app(app)
    pushes.init_app(app)  # after the webhook: its send-receipt events go to the pushes' handlers
    scheduler.init_app(app)  # last: it starts jobs that the modules above registered
    return app
