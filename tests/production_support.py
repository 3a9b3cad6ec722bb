"""The production shape for tests/test_production_shape.py: real processes on one config, started and stopped here.

`Fleet` starts what deploy/ describes: the release step (`flask db upgrade`), gunicorn with deploy/gunicorn.conf.py
(BIND from the environment) and `flask scheduler`, each as its own process, on deploy/config.production.toml with
the few test overrides, secrets from the environment as in /etc/bot/env. Logs go to files in the test's folder and
are shown when something does not come up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

from tests.conftest import TEST_DATA_KEY, _free_port
from tests.pushes_helpers import write_config
from tests.wechat_user import APP_ID, TOKEN

# Production refuses the public sample EncodingAESKey the other tests use (bot/production.py).
AES_KEY = "K" * 43

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def production_config(folder: Path, standin_url: str, **sections: dict) -> Path:
    """deploy/config.production.toml with `sections` merged over it, written as the processes' APP_CONFIG."""
    cfg = tomllib.loads((ROOT / "deploy" / "config.production.toml").read_text(encoding="utf-8"))
    cfg["wechat"]["api_base_url"] = standin_url
    for name, values in sections.items():
        cfg.setdefault(name, {}).update(values)
    return write_config(folder, cfg)


def secrets_env(db_url: str) -> dict[str, str]:
    """What /etc/bot/env holds in production (deploy/config.production.toml names each variable)."""
    return {
        "APP_PRODUCTION": "1",
        "SECRET_KEY": "production-shape-secret-key-" + "0" * 36,
        "DATA_ENCRYPTION_KEY": TEST_DATA_KEY,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": "test-app-secret",
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_ENCODING_AES_KEY": AES_KEY,
        "WECHAT_CONSUMER_TEMPLATE_ID": "progress-template-of-this-account",
        "DATABASE_URL": db_url,
    }


class Fleet:
    """The service's processes, each started with the same APP_CONFIG and secrets; stopped by their own handles."""

    def __init__(self, folder: Path, config: Path, db_url: str) -> None:
        self.folder = folder
        self.env = {
            **os.environ,
            "APP_CONFIG": str(config),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            **secrets_env(db_url),
        }
        self.procs: dict[str, subprocess.Popen] = {}

    def run(self, *args: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
        """A one-off command (a release step), waited for; its output."""
        env = {**self.env, **(extra_env or {})}
        return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    def start(self, name: str, *args: str, extra_env: dict | None = None) -> subprocess.Popen:
        env = {**self.env, **(extra_env or {})}
        with (self.folder / f"{name}.log").open("w") as log:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def web(self, name: str) -> str:
        """A gunicorn web process (one worker, the conf's threads) on a free port; its base URL once it answers."""
        port = _free_port()
        env = {"BIND": f"127.0.0.1:{port}", "WEB_WORKERS": "1"}
        self.start(name, str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", extra_env=env)
        url = f"http://127.0.0.1:{port}"
        self.wait_for(name, lambda: _healthy(url), 40)
        return url

    def scheduler(self, name: str) -> subprocess.Popen:
        """A `flask scheduler` process, as the bot-scheduler unit starts it."""
        return self.start(name, str(BIN / "flask"), "--app", "bot", "scheduler")

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def wait_for(self, name: str, predicate, seconds: float) -> None:
        """Poll predicate until true; fail with the named process's log if it does not come, or the process died."""
        deadline = time.monotonic() + seconds
        while not predicate():
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{self.log(name)[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting on {name}:\n{self.log(name)[-3000:]}")
            time.sleep(0.1)

    def kill(self, name: str) -> None:
        """SIGKILL one process, as a crash or a lost machine would."""
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(timeout=10)

    def stop(self) -> dict[str, int | None]:
        """SIGTERM every process still running (gunicorn and the scheduler stop gracefully); their exit codes."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = proc.wait(timeout=10)
        return codes


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False
