"""What a production start refuses (bot/production.py): each bad value stops it with one line naming the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import SECTIONS, create_app
from bot.config import AppSettings, ConfigError, load
from bot.db.settings import DatabaseSettings
from bot.leads.settings import LeadsSettings
from bot.wechat.settings import WechatSettings
from tests.conftest import TEST_DATA_KEY

ROOT = Path(__file__).resolve().parent.parent
GOOD = {
    "app": {"production": True, "secret_key": "9f" * 32, "data_key": TEST_DATA_KEY},
    "wechat": {
        "app_id": "wxb1c2d3e4f5a6b7c8",
        "app_secret": "a-real-secret-from-the-admin",
        "token": "a-real-token-of-this-account",
        "encoding_aes_key": "Q" * 43,
        "api_base_url": "https://api.weixin.qq.com/cgi-bin/",
    },
    "database": {"url": "postgresql://bot@db.internal/bot"},
    "leads": {"consumer_template_id": "Xq3-progress-template-of-this-account"},
}


def _config(**changes: dict) -> dict:
    cfg = {section: dict(values) for section, values in GOOD.items()}
    for section, values in changes.items():
        cfg.setdefault(section, {}).update(values)
    return cfg


def test_a_sound_production_config_loads():
    assert load(SECTIONS, _config()).get(AppSettings).production is True
    allowed = _config(wechat={"encoding_aes_key": "", "allow_plain_mode": True})
    assert load(SECTIONS, allowed).get(WechatSettings).allow_plain_mode is True
    stand_in = _config(wechat={"api_base_url": "http://127.0.0.1:8081/cgi-bin/"})  # the production-shape test's
    assert load(SECTIONS, stand_in).get(WechatSettings).api_base_url.startswith("http://127.0.0.1")


@pytest.mark.parametrize(
    ("changes", "key", "says"),
    [
        ({"app": {"secret_key": "x"}}, "[app] secret_key", "at least 32 random bytes"),
        ({"app": {"secret_key": "short-but-not-32-bytes"}}, "[app] secret_key", "at least 32 random bytes"),
        ({"wechat": {"token": "sandbox-token"}}, "[wechat] token", "example published in this repository"),
        ({"wechat": {"app_id": "wxsandbox0000000001"}}, "[wechat] app_id", "example published"),
        ({"wechat": {"app_secret": "sandbox-app-secret"}}, "[wechat] app_secret", "example published"),
        (
            {"wechat": {"encoding_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}},
            "[wechat] encoding_aes_key",
            "example published",
        ),
        ({"wechat": {"app_secret": ""}}, "[wechat] app_secret", "required in production"),
        ({"wechat": {"encoding_aes_key": ""}}, "[wechat] encoding_aes_key", "plain mode"),
        ({"database": {"url": "sqlite:///instance/bot.db"}}, "[database] url", "SQLite in production"),
        ({"wechat": {"api_base_url": "http://api.example.com/cgi-bin/"}}, "[wechat] api_base_url", "https://"),
        ({"wechat": {"sandbox": True}}, "[wechat] sandbox", "cannot be on in production"),
        ({"leads": {"consumer_template_id": ""}}, "[leads] consumer_template_id", "required in production"),
        (
            {"leads": {"consumer_template_id": "SANDBOX-CONSUMER-PROGRESS"}},
            "[leads] consumer_template_id",
            "WECHAT_CONSUMER_TEMPLATE_ID",
        ),
    ],
)
def test_production_refuses(changes, key, says):
    with pytest.raises(ConfigError) as caught:
        load(SECTIONS, _config(**changes))
    line = caught.value.format_message()
    assert line.startswith(f"test_config: {key}: ") and says in line and "\n" not in line


def test_a_subscription_account_has_no_template_messages_to_require():
    cfg = _config(wechat={"account_type": "subscription"}, leads={"consumer_template_id": ""})
    assert load(SECTIONS, cfg).get(LeadsSettings).consumer_template_id == ""


def test_sqlite_in_production_only_on_purpose(tmp_path):
    cfg = _config(database={"url": f"sqlite:///{tmp_path / 'p.db'}", "allow_sqlite_in_production": True})
    assert load(SECTIONS, cfg).get(DatabaseSettings).url.startswith("sqlite")


@pytest.mark.parametrize("value", ["y", "enabled", "2"])
def test_a_boolean_variable_accepts_only_the_usual_words(monkeypatch, value):
    monkeypatch.setenv("APP_PRODUCTION", value)
    with pytest.raises(ConfigError, match=rf"\[app\] production: APP_PRODUCTION='{value}' is not true/false"):
        load(SECTIONS, _config(app={"production": False}))


@pytest.mark.parametrize(("value", "production"), [("off", False), ("NO", False), ("1", True), ("On", True)])
def test_boolean_words(monkeypatch, value, production):
    monkeypatch.setenv("APP_PRODUCTION", value)
    assert load(SECTIONS, _config()).get(AppSettings).production is production


def test_a_malformed_data_key_is_one_line_not_a_traceback(tmp_path):
    cfg = _config(
        app={"production": False, "data_key": "not-a-key"}, database={"url": f"sqlite:///{tmp_path / 'k.db'}"}
    )
    with pytest.raises(ConfigError, match=r"\[app\] data_key: is not a Fernet key"):
        create_app(cfg)


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"APP_PRODUCTION": "y"}, "[app] production: APP_PRODUCTION='y' is not true/false"),
        ({"SECRET_KEY": "x"}, "[app] secret_key: must be at least 32 random bytes"),
        ({"WECHAT_TOKEN": "sandbox-token"}, "[wechat] token: is an example published in this repository"),
        ({"DATA_ENCRYPTION_KEY": "broken"}, "[app] data_key: is not a Fernet key"),
    ],
)
def test_a_production_start_prints_one_line_and_exits_non_zero(tmp_path, env, line):
    config = ROOT / "deploy" / "config.production.toml"
    secrets = {
        "APP_PRODUCTION": "1",
        "SECRET_KEY": "9f" * 32,
        "DATA_ENCRYPTION_KEY": TEST_DATA_KEY,
        "WECHAT_APP_ID": GOOD["wechat"]["app_id"],
        "WECHAT_APP_SECRET": GOOD["wechat"]["app_secret"],
        "WECHAT_TOKEN": GOOD["wechat"]["token"],
        "WECHAT_ENCODING_AES_KEY": GOOD["wechat"]["encoding_aes_key"],
        "WECHAT_CONSUMER_TEMPLATE_ID": GOOD["leads"]["consumer_template_id"],
        "DATABASE_URL": "postgresql://bot@127.0.0.1:9/bot",
    }
    done = subprocess.run(
        [str(Path(sys.executable).with_name("flask")), "--app", "bot", "db", "current"],
        cwd=ROOT,
        env={**os.environ, "APP_CONFIG": str(config), **secrets, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    errors = [text for text in done.stderr.splitlines() if text.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith(f"Error: {config}: {line}"), done.stderr
    assert "Traceback" not in done.stderr
