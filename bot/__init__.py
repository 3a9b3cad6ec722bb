"""The WeChat service of the city market-regulation bureau: `flask --app bot` builds it with create_app()."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

import notices
from bot import (
    cli,
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
from bot.console.settings import ConsoleSettings
from bot.db.settings import DatabaseSettings
from bot.dialogue.settings import DialogueSettings
from bot.leads.settings import CalendarSettings, LeadsSettings, NotifySettings, SmtpSettings
from bot.pushes.settings import PushesSettings
from bot.wechat import client as wechat_client
from bot.wechat import views as webhook
from bot.wechat.settings import WechatSettings

# The sections of config.toml, each declared and checked by the feature it configures ([app] by bot.config).
SECTIONS = (
    config.AppSettings,
    WechatSettings,
    DatabaseSettings,
    scheduler.SchedulerSettings,
    PushesSettings,
    CalendarSettings,
    ConsoleSettings,
    LeadsSettings,
    DialogueSettings,
    NotifySettings,
    SmtpSettings,
    outbox.OutboxSettings,
    notice_replies.NoticesSettings,
)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: every part in the order it is set up, then the request path, layer by layer."""
    app = Flask(__name__, instance_path=str(config.ROOT / "instance"))
    config.init_app(app, SECTIONS, test_config)  # settings: config.toml or APP_CONFIG, the environment, defaults
    logs.init_app(app)
    guards.init_app(app)  # refusals common to every request (hostile paths, NUL bytes)
    privacy.init_app(app)  # the keys of personal data at rest
    db.init_app(app)  # the engine; the schema brought up to date or checked
    app.register_blueprint(health.bp)  # /healthz
    wechat_client.init_app(app)  # the WeChat API client and `flask wechat`
    webhook.init_app(app)  # /wechat: content files, handlers on the router
    sandbox.init_app(app)  # /sandbox/: the stand-in for WeChat, when [wechat] sandbox is on
    console.init_app(app)  # /console/: the staff's web console
    notices.init_app(app, **notice_replies.site_settings(app))  # /notices/: the public site, feed, `flask notices`
    notice_replies.init_app(app)  # the notices' keywords answered in the bot
    outbox.init_app(app)  # slow work: staff notices, evidence downloads, replies to consumers
    leads.init_app(app)  # complaints and reports: rules, 进度, the calendar's commands
    dialogue.init_app(app)  # the complaint dialogue (the router's interceptor)
    pushes.init_app(app)  # after the webhook: its send-receipt events go to the pushes' handlers
    cli.init_app(app)  # commands that span features (`flask rotate-keys`, `flask db revision`)
    scheduler.init_app(app)  # last: it starts jobs that the modules above registered
    # The request path, outermost first: cached public pages answered before Flask (notices' fast path); POST
    # /wechat answered before Flask (the webhook's endpoint); the reverse proxies' headers trusted; Flask.
    inner = config.trusted_proxies(app, app.wsgi_app)
    inner = webhook.endpoint(app, inner)
    app.wsgi_app = notices.fast_path(app, inner)  # type: ignore[method-assign]
    return app
