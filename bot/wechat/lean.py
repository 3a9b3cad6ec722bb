"""A lean JSON POST for the API calls a push makes by the thousand: urllib3 with a kept-alive connection per thread.

requests costs about twice urllib3's CPU per call (cookies, hooks, settings merged on every request; measured in
bench/profiles/push-sender-gil-after-batching.txt), which caps a push's rate on a busy machine. This path sends the
same body to the same URL and ends the same way as wechatpy's: an errcode answer raises WeChatClientException (the
client sorts it, and refreshes the token on 40001/42001), HTTP and network failures raise the client's own errors.
It is used only when no proxy is configured for the API (requests handles proxies; this path does not).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import certifi
import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, ProtocolError, TimeoutError
from wechatpy.exceptions import WeChatClientException

from bot.wechat.errors import ApiConnectionError, ApiTimeout, RetryableApiError, WeChatApiError

HEADERS = {"Content-Type": "application/json; charset=utf-8"}


class LeanPoster:
    """One thread's connection pool to the API (a single kept-alive connection per host)."""

    def __init__(self, timeout: float, verify: bool | str) -> None:
        tls: dict[str, Any] = {"cert_reqs": "CERT_NONE"} if verify is False else {"cert_reqs": "CERT_REQUIRED"}
        if verify is not False:
            tls["ca_certs"] = verify if isinstance(verify, str) else certifi.where()
        self.timeout = timeout
        self.http = urllib3.PoolManager(num_pools=2, maxsize=1, retries=False, timeout=timeout, **tls)

    def post(self, client: Any, path: str, body: dict) -> dict:
        """POST body as JSON to <api_base_url><path>?access_token=...; the answer (errcode 0) or an exception."""
        url = f"{client.API_BASE_URL}{path}?access_token={quote(client.access_token, safe='')}"
        data = json.dumps(body, ensure_ascii=False).encode()
        try:
            answer = self.http.request("POST", url, body=data, headers=HEADERS)
        except NewConnectionError as exc:
            raise ApiConnectionError(-1, f"connection to the WeChat API failed: {type(exc).__name__}") from None
        except TimeoutError:
            raise ApiTimeout(-1, f"no answer from the WeChat API within {self.timeout:g} s") from None
        except ProtocolError as exc:
            raise ApiConnectionError(-1, f"connection to the WeChat API failed: {type(exc).__name__}") from None
        except HTTPError as exc:
            raise WeChatApiError(-1, f"request to the WeChat API failed: {exc}") from None
        if answer.status >= 500:
            raise RetryableApiError(-1, f"the WeChat API answered HTTP {answer.status}")
        if answer.status >= 400:
            raise WeChatApiError(answer.status, f"the WeChat API answered HTTP {answer.status}")
        try:
            result = json.loads(answer.data.decode("utf-8", "ignore"), strict=False)
        except ValueError:
            raise WeChatApiError(-1, f"{path} answered HTTP {answer.status}, not JSON") from None
        errcode = result.get("errcode", 0) if isinstance(result, dict) else 0
        if errcode:
            raise WeChatClientException(errcode, result.get("errmsg", ""), client=client)
        return result
