"""[wechat]: the official account's credentials, the webhook's limits and the API client."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar
from urllib.parse import urlsplit

from bot.config import REQUIRED, AppSettings, ConfigError, Section, Settings, setting


@dataclass(frozen=True, kw_only=True)
class WechatSettings(Section):
    NAME: ClassVar[str] = "wechat"
    app_id: str = setting(REQUIRED, env="WECHAT_APP_ID")
    app_secret: str = setting("", env="WECHAT_APP_SECRET")
    token: str = setting(REQUIRED, env="WECHAT_TOKEN")
    encoding_aes_key: str = setting("", env="WECHAT_ENCODING_AES_KEY")
    api_base_url: str = "https://api.weixin.qq.com/cgi-bin/"
    account_type: str = setting("service", choices=("service", "subscription"))
    sandbox: bool = False
    allow_plain_mode: bool = False
    timeout: float = 4.0
    body_limit: int = 65536
    replay_window: int = 300
    replies_file: str = "content/replies.toml"
    phrases_file: str = "content/phrases.toml"

    def check(self, source: str, app: AppSettings) -> WechatSettings:
        for key in ("app_id", "token"):
            if not getattr(self, key).strip():
                raise ConfigError(source, f"[wechat] {key}", f"is empty (set it here or in {self.env(key)})")
        if self.encoding_aes_key and len(self.encoding_aes_key) != 43:
            raise ConfigError(source, "[wechat] encoding_aes_key", "must be 43 characters (or empty for plain mode)")
        if not self.api_base_url.startswith(("http://", "https://")):
            raise ConfigError(source, "[wechat] api_base_url", "must be an http(s) URL")
        if not 1024 <= self.body_limit <= 1024 * 1024:
            raise ConfigError(source, "[wechat] body_limit", "must be between 1024 and 1048576 bytes")
        if not 30 <= self.replay_window <= 3600:
            raise ConfigError(source, "[wechat] replay_window", "must be between 30 and 3600 seconds")
        return self if self.api_base_url.endswith("/") else replace(self, api_base_url=self.api_base_url + "/")

    def refuse_in_production(self, source: str, settings: Settings) -> None:
        from bot.production import loopback, refuse_shipped

        if self.sandbox:
            raise ConfigError(source, "[wechat] sandbox", "cannot be on in production mode ([app] production = true)")
        refuse_shipped(source, self, "app_id", "app_secret", "token", "encoding_aes_key")
        if not self.app_secret.strip():
            raise ConfigError(source, "[wechat] app_secret", "is required in production (set WECHAT_APP_SECRET)")
        if not self.encoding_aes_key and not self.allow_plain_mode:
            raise ConfigError(
                source,
                "[wechat] encoding_aes_key",
                "is required in production: plain mode sends messages unencrypted (set WECHAT_ENCODING_AES_KEY, "
                "or allow_plain_mode = true on purpose)",
            )
        base = urlsplit(self.api_base_url)
        if base.scheme != "https" and not loopback(base.hostname or ""):
            raise ConfigError(source, "[wechat] api_base_url", "must be https:// in production (http only on loopback)")
