"""A newcomer's first minute: what `make run` runs (its recipe, read from the Makefile) ends its start-up with the
address, the sandbox chat and console links and a console account that signs in; the chat's polling stays out of
the log."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import TEST_DATA_KEY
from tests.pushes_helpers import write_config

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_recipe(host: str, port: int) -> list[str]:
    """The commands of the Makefile's `run` target, as make would run them (its install prerequisite aside)."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").split("\nrun:", 1)[1].splitlines()[1:]
    recipe = []
    for line in lines:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip().replace("$(BIN)", str(BIN)).replace("$(HOST)", host).replace("$(PORT)", str(port)))
    return recipe


class Served:
    """The last command of the recipe (the server) running, its output collected line by line."""

    def __init__(self, command: str, env: dict) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            command.split(), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60) -> int:
        """The index of the first line containing text (waiting for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, line in enumerate(list(self.lines)):
                if text in line:
                    return i
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never printed:\n" + "\n".join(self.lines))

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=5)
        self.proc.stdout.close()


# The banner comes once the real server's scheduler has run its first jobs, seconds after start on the system
# clock: under libfaketime (make test-far-date) that wait is not the product's, so these run in the main suite only.
pytestmark = pytest.mark.wall_clock


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    """`make run` on its own SQLite file and settings (the sandbox on and the scheduler running, as shipped)."""
    tmp_path = tmp_path_factory.mktemp("make-run")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    config = {
        "app": {"secret_key": "test-secret-key", "data_key": TEST_DATA_KEY, "public_url": base},
        "wechat": {"app_id": "wxsandbox0000000001", "app_secret": "sandbox-app-secret", "token": "sandbox-token"}
        | {"sandbox": True, "api_base_url": f"{base}/sandbox/api/cgi-bin/"},
        "database": {"url": f"sqlite:///{tmp_path / 'bot.db'}"},
        "scheduler": {"enabled": True, "tick_seconds": 1},
    }
    env = {**os.environ, "APP_CONFIG": str(write_config(tmp_path, config))}
    *setup, serve = run_recipe("127.0.0.1", port)
    for command in setup:
        subprocess.run(command.split(), cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    served = Served(serve, env)
    yield served, base
    served.stop()


def test_the_start_up_ends_with_the_links_and_an_account_that_signs_in(make_run):
    served, base = make_run
    end = served.wait_for("Press CTRL+C to quit")
    banner = served.lines[end - 4 : end + 1]
    assert banner[0] == f" * Serving {base}/  (Flask's development server: in production run gunicorn, see the README)"
    assert banner[1] == f" * Sandbox chat (WeChat stand-in): {base}/sandbox/"
    assert banner[2] == f" * Staff console: {base}/console/"
    account = re.fullmatch(r" \* Console account \(admin, [^)]*\): (\S+)  password: (\w+)", banner[3])
    assert account, banner[3]
    # Nothing of the start-up comes after it: the scheduler's first jobs logged before it.
    assert any("job=calendar" in line for line in served.lines[:end])
    assert not any("Running on" in line for line in served.lines)  # werkzeug's own words became the banner

    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = browser.open(f"{base}/console/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', login)[1]
    form = {"csrf_token": token, "username": account[1], "password": account[2], "next": ""}
    signed_in = browser.open(f"{base}/console/login", urllib.parse.urlencode(form).encode())
    page = signed_in.read().decode()
    assert "/console/login" not in signed_in.geturl() and "沙盒管理员" in page


def test_the_chats_polling_stays_out_of_the_log(make_run):
    served, base = make_run
    end = served.wait_for("Press CTRL+C to quit")
    made = urllib.parse.urlencode({"nickname": "陈小红"}).encode()
    with urllib.request.urlopen(f"{base}/sandbox/users", made) as chat:  # as the chat page makes a user
        openid = urllib.parse.parse_qs(urllib.parse.urlsplit(chat.geturl()).query)["u"][0]
    for _ in range(3):  # the page's poll, every 2 seconds
        with urllib.request.urlopen(f"{base}/sandbox/users/{openid}/messages?after=0") as response:
            assert response.status == 200
    served.wait_for("path=/sandbox/users status=303")
    served.wait_for("path=/sandbox/ status=200")
    after = served.lines[end + 1 :]
    assert not [line for line in after if "/messages" in line], after
