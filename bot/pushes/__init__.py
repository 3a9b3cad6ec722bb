"""Scheduled pushes: notices' push schedules and recurring alerts sent to their audiences exactly once.

Modules: schedule (what is due, quiet hours), audience (who), budget (mass-send limits), starts (refusals),
claims (who works on what), channels (the API calls), dispatch and mass (the senders), report, chat, cli.
"""

from __future__ import annotations

from flask import Flask

from bot.scheduler import SchedulerSettings


def init_app(app: Flask) -> None:
    """Check `[pushes]` (a time or cron that cannot be used stops the start), register the dispatcher job, the chat
    handlers, the notices' audience checks and `flask pushes`."""
    from bot.pushes import audiences, chat, cli, dispatch
    from bot.scheduler import periodic

    chat.register(app)
    audiences.init_app(app)
    periodic(app, "pushes", SchedulerSettings.of(app).tick_seconds, dispatch.run_due)
    app.cli.add_command(cli.cli)
