"""The app for child processes of the push tests: the real app plus a notice store with the tests' notice."""

from __future__ import annotations

from bot import create_app as _create_app
from tests.pushes_helpers import Note, Notices


def create_app():
    """The app from APP_CONFIG, with the notice the tests schedule."""
    app = _create_app()
    app.extensions["notices"] = Notices(Note("double11", push=[]))
    return app
