"""Scheduled pushes: notices' push schedules and recurring alerts sent to their audiences exactly once.

Modules: schedule (what is due, quiet hours), audience (who), budget (mass-send limits), starts (refusals),
claims (who works on what), channels (the API calls), dispatch and mass (the senders), report, chat, cli.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Check `[pushes]` (a time or cron that cannot be used stops the start), register the dispatcher job, the chat
    handlers and `flask pushes`."""
    from bot import config
    from bot.pushes import chat, cli, dispatch
    from bot.pushes.schedule import check_settings
    from bot.scheduler import periodic

    check_settings(config.source(app), app.config["SETTINGS"])
    chat.register(app)
    periodic(app, "pushes", app.config["SETTINGS"]["scheduler"]["tick_seconds"], dispatch.run_due)
    app.cli.add_command(cli.cli)
