"""Scheduled pushes: notices' push schedules and recurring alerts sent to their audiences exactly once.

Modules: schedule (what is due, quiet hours), audience (who), budget (mass-send limits), starts (refusals),
claims (who works on what), channels (the API calls), dispatch and mass (the senders), report, chat, cli.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the dispatcher job, the chat handlers and `flask pushes` (config.py checked the settings)."""
    from bot.pushes import chat, cli, dispatch
    from bot.scheduler import periodic

    chat.register(app)
    periodic(app, "pushes", app.config["SETTINGS"]["scheduler"]["tick_seconds"], dispatch.run_due)
    app.cli.add_command(cli.cli)
