"""The floor: a bare Flask app that answers `success`, served with the same gunicorn settings as the real app."""

from flask import Flask

app = Flask(__name__)


@app.route("/wechat", methods=["GET", "POST"])
def wechat() -> str:
    """What the cheapest possible webhook does: nothing."""
    return "success"


@app.get("/notices/")
@app.get("/notices/<path:_rest>")
def page(_rest: str = "") -> str:
    """The floor for page scenarios: a constant small body."""
    return "<!doctype html><title>floor</title><p>ok</p>"
