"""App-wide guards against hostile input: NUL bytes and data the database refuses answer 400, never 500."""

from __future__ import annotations

import logging

from flask import Flask, abort, request
from sqlalchemy.exc import DataError

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Refuse NUL bytes in the path, the query and form fields; turn a DataError into a 400. A view that takes
    uploads larger than MAX_CONTENT_LENGTH declares its own limit as `view.upload_limit` (bytes)."""

    @app.before_request
    def _refuse_nul() -> None:
        limit = getattr(app.view_functions.get(request.endpoint or ""), "upload_limit", None)
        if limit:
            request.max_content_length = limit  # read before any form is, so that the view can tell the size
        if "\x00" in request.path:
            abort(400)
        query = request.query_string  # a NUL in a decoded value comes from %00 (or a raw NUL): look before parsing
        if (b"%00" in query or b"\x00" in query) and any("\x00" in v for v in request.args.values()):
            abort(400)
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            if any("\x00" in v for v in request.form.values()):
                abort(400)

    @app.errorhandler(DataError)
    def _data_error(exc: DataError):
        # A value the database cannot store (NUL, out of range) came from the client: it is their request that is bad.
        log.warning("refused data the database cannot store: %s", type(exc.orig).__name__)
        return "请求中含有无法处理的数据。", 400
