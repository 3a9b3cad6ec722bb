"""The WeChat API client: one object per app wrapping wechatpy's WeChatClient, every URL under api_base_url.

What wechatpy does not give us, this adds: the base URL from config (wechatpy hard-codes the token URL), the access
token shared by every process through the database (bot.wechat.tokens), a timeout on every call, one token refresh
and one retry on 40001/42001 instead of wechatpy's unbounded recursion, and errors sorted by what to do about them
(bot.wechat.errors). Callers: `get_api(app).send_text(openid, "...")`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from flask import Flask, current_app
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bot.db import get_db
from bot.wechat.errors import (
    TOKEN_REJECTED,
    ApiConnectionError,
    ApiTimeout,
    RetryableApiError,
    TokenInvalid,
    WeChatApiError,
    from_errcode,
)
from bot.wechat.lean import LeanPoster
from bot.wechat.settings import WechatSettings
from bot.wechat.tokens import TokenStore

log = logging.getLogger(__name__)
T = TypeVar("T")


def init_app(app: Flask) -> None:
    """Build the app's WeChat API object (no network until the first call) and register `flask wechat`."""
    from bot.wechat.cli import wechat_cli

    app.extensions["wechat_api"] = WeChatApi(app)
    app.cli.add_command(wechat_cli)


def get_api(app: Flask | None = None) -> WeChatApi:
    """The app's WeChat API object."""
    return (app or current_app).extensions["wechat_api"]


class _TokenRejected(Exception):
    def __init__(self, errcode: int, errmsg: str, token: str | None) -> None:
        super().__init__(errcode, errmsg)
        self.errcode, self.errmsg, self.token = errcode, errmsg, token


class _Client(WeChatClient):
    """wechatpy's client pointed at our base URL and token store, with its recursive token retry switched off."""

    def __init__(self, api: WeChatApi) -> None:
        super().__init__(api.appid, api.secret, timeout=api.timeout, auto_retry=False)
        self.API_BASE_URL = api.base_url
        # Proxies and CA bundle from the environment, read once here instead of on every call (requests would
        # also look for ~/.netrc each time: a file-system check per message in a push of 100,000).
        env = self._http.merge_environment_settings(api.base_url, {}, None, None, None)
        self._http.proxies.update(env["proxies"])
        self._http.verify = env["verify"]
        self._http.trust_env = False
        # Hot calls (template messages in a push) skip requests when no proxy is in the way (bot.wechat.lean).
        self.lean = None if env["proxies"] else LeanPoster(api.timeout, env["verify"])
        self._api = api
        self.last_token: str | None = None

    @property
    def access_token(self) -> str:
        token = self._api.tokens.get(self._api.fetch_token)
        self.last_token = token
        return token

    def fetch_access_token(self) -> dict:
        token = self._api.tokens.refresh(self._api.fetch_token, stale=self.last_token, force=True)
        return {"access_token": token}


class WeChatApi:
    """The official account's API: customer-service, template and mass messages, media, menu, users and tags."""

    def __init__(self, app: Flask) -> None:
        settings = WechatSettings.of(app)
        self.appid: str = settings.app_id
        self.secret: str = settings.app_secret
        self.base_url: str = settings.api_base_url
        self.timeout: float = settings.timeout
        self.tokens = TokenStore(get_db(app), self.appid)
        self._local = threading.local()

    # ------------------------------------------------------------------ messages

    def send_text(self, openid: str, content: str) -> dict:
        """A customer-service text message (only within 48 hours of the user's last message: else 45015)."""
        return self._call(lambda c: c.message.send_text(openid, content))

    def send_news(self, openid: str, title: str, description: str, url: str, image: str = "") -> dict:
        """A customer-service news message with one article (the platform's limit)."""
        article = {"title": title, "description": description, "url": url, "image": image}
        return self._call(lambda c: c.message.send_articles(openid, [article]))

    def send_template(
        self, openid: str, template_id: str, data: dict, url: str | None = None, client_msg_id: str | None = None
    ) -> dict:
        """A template message (to any follower; 43004 when the user does not follow); the answer has `msgid`.

        client_msg_id (at most 64 bytes) makes a repeat harmless: the platform sends one message per openid and
        client_msg_id within 10 minutes (pushes rely on it after a crash).
        """
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            body["url"] = url
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        return self._post("message/template/send", body)

    def mass_send(
        self,
        msg: dict,
        *,
        tag_id: int | None = None,
        openids: list[str] | None = None,
        clientmsgid: str,
    ) -> dict:
        """A mass send of msg ({"msgtype": "text", "text": {...}}) to all, a tag, or a list of at least 2 openids.

        clientmsgid makes a repeat harmless: the platform answers 45065 with the first send's msg_id.
        """
        if tag_id is not None and openids is not None:
            raise ValueError("mass_send: give tag_id or openids, not both")
        body: dict[str, Any] = {**msg, "clientmsgid": clientmsgid, "send_ignore_reprint": 0}
        if openids is not None:
            body["touser"] = list(openids)
            return self._call(lambda c: c.post("message/mass/send", data=body))
        body["filter"] = {"is_to_all": True} if tag_id is None else {"is_to_all": False, "tag_id": tag_id}
        return self._call(lambda c: c.post("message/mass/sendall", data=body))

    def mass_preview(self, openid: str, msg: dict) -> dict:
        """Send msg to one follower as a preview of a mass send (does not count against the budget)."""
        return self._call(lambda c: c.post("message/mass/preview", data={"touser": openid, **msg}))

    # ------------------------------------------------------------------ media, menu, users

    def download_media(self, media_id: str) -> tuple[bytes, str]:
        """A temporary media file (a photo the user sent): (content, content type)."""
        result = self._call(lambda c: c.media.download(media_id))
        if not isinstance(result, requests.Response):
            raise WeChatApiError(-1, f"media/get answered JSON without the file: {result!r}"[:300])
        return result.content, result.headers.get("Content-Type", "application/octet-stream")

    def menu_create(self, menu: dict) -> dict:
        """Replace the account's custom menu with menu ({"button": [...]})."""
        return self._call(lambda c: c.menu.create(menu))

    def menu_get(self) -> dict:
        """The account's current menu ({"menu": {"button": [...]}}), or {} when it has none."""
        return self._call(lambda c: c.menu.get()) or {}

    def user_info(self, openid: str) -> dict:
        """A follower's public profile (subscribe, subscribe_time, tagid_list, ...)."""
        return self._call(lambda c: c.user.get(openid))

    def tags(self) -> list:
        """The account's user tags: [{"id": ..., "name": ..., "count": ...}]."""
        return self._call(lambda c: c.tag.get())

    def tag_users(self, tag_id: int, next_openid: str = "") -> dict:
        """One page of a tag's followers: {"count", "data": {"openid": [...]}, "next_openid"}."""
        return self._call(lambda c: c.tag.get_tag_users(tag_id, next_openid or None))

    # ------------------------------------------------------------------ plumbing

    def fetch_token(self, force: bool) -> tuple[str, int]:
        """Ask the platform for a token (stable_token: force=False returns the current one without rotating it)."""
        body = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret, "force_refresh": force}
        result = self._once(lambda c: c._http.post(self.base_url + "stable_token", json=body, timeout=self.timeout))
        try:
            data = result.json()
        except ValueError:
            raise RetryableApiError(-1, f"stable_token answered HTTP {result.status_code}, not JSON") from None
        if result.status_code >= 500:
            raise RetryableApiError(-1, f"stable_token answered HTTP {result.status_code}")
        if data.get("errcode"):
            raise from_errcode(int(data["errcode"]), str(data.get("errmsg", "")))
        log.info("wechat: fetched a new access token (force_refresh=%s)", force)
        return str(data["access_token"]), int(data.get("expires_in", 7200))

    def _client(self) -> _Client:
        # One wechatpy client (and one requests.Session) per thread: requests sessions are not thread-safe.
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = _Client(self)
        return client

    def _post(self, path: str, body: dict) -> dict:
        """POST body as JSON to path: on the lean path when it applies (bot.wechat.lean), else through wechatpy."""
        return self._call(lambda c: c.lean.post(c, path, body) if c.lean else c.post(path, data=body))

    def _call(self, fn: Callable[[_Client], T]) -> T:
        """Run fn; on a rejected token refresh it once (unless another process did) and retry once."""
        client = self._client()
        try:
            return self._once(fn)
        except _TokenRejected as exc:
            log.warning("wechat: access token rejected (%s %s): refreshing once", exc.errcode, exc.errmsg)
            self.tokens.refresh(self.fetch_token, stale=exc.token or client.last_token, force=True)
        try:
            return self._once(fn)
        except _TokenRejected as exc:
            raise TokenInvalid(exc.errcode, f"{exc.errmsg} (still rejected after one token refresh)") from None

    def _once(self, fn: Callable[[_Client], T]) -> T:
        client = self._client()
        try:
            return fn(client)
        except WeChatClientException as exc:
            raise self._translate(exc, client) from None
        except requests.Timeout:
            raise ApiTimeout(-1, f"no answer from the WeChat API within {self.timeout:g} s") from None
        except requests.ConnectionError as exc:
            raise ApiConnectionError(-1, f"connection to the WeChat API failed: {type(exc).__name__}") from None
        except requests.RequestException as exc:
            raise WeChatApiError(-1, f"request to the WeChat API failed: {exc}") from None

    @staticmethod
    def _translate(exc: WeChatClientException, client: _Client) -> Exception:
        if exc.errcode is None:  # an HTTP-level failure: wechatpy gives no errcode, only the response
            status = getattr(exc.response, "status_code", None) or 0
            if status >= 500 or status == 0:
                return RetryableApiError(-1, f"the WeChat API answered HTTP {status}")
            return WeChatApiError(status, f"the WeChat API answered HTTP {status}")
        errcode, errmsg = int(exc.errcode), str(exc.errmsg)
        if errcode in TOKEN_REJECTED:
            return _TokenRejected(errcode, errmsg, client.last_token)
        log.warning("wechat: API error %s %s", errcode, errmsg)
        return from_errcode(errcode, errmsg)
