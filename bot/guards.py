"""App-wide guards against hostile input: NUL bytes and data the database refuses answer 400, never 500."""

from __future__ import annotations

import logging

from flask import Flask, abort, request
from sqlalchemy.exc import DataError

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Refuse NUL bytes in the path, the query and form fields; turn a DataError into a 400."""

    @app.before_request
    def _refuse_nul() -> None:
        if "\x00" in request.path or any("\x00" in v for v in request.args.values()):
            abort(400)
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            if any("\x00" in v for v in request.form.values()):
                abort(400)

    @app.errorhandler(DataError)
    def _data_error(exc: DataError):
        # A value the database cannot store (NUL, out of range) came from the client: it is their request that is bad.
        log.warning("refused data the database cannot store: %s", type(exc.orig).__name__)
        return "请求中含有无法处理的数据。", 400
