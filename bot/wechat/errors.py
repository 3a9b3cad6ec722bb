"""Errors of the WeChat API client: the platform's errcode, sorted by what the caller should do about it."""

from __future__ import annotations


class WeChatApiError(Exception):
    """The platform refused a call (errcode, errmsg). `retryable` says whether the same call may succeed later."""

    retryable = False

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class RetryableApiError(WeChatApiError):
    """A passing failure: the platform is busy (-1), answered HTTP 5xx, timed out or dropped the connection."""

    retryable = True


class ApiTimeout(RetryableApiError):
    """No answer within `[wechat] timeout` seconds (the call may or may not have taken effect)."""


class ApiConnectionError(RetryableApiError):
    """The connection could not be made, or was closed before an answer came."""


class QuotaExceeded(WeChatApiError):
    """45009: the daily call quota of this API is used up; the same call succeeds after the quota resets."""

    retryable = True


class TokenInvalid(WeChatApiError):
    """40001/42001 still answered after one token refresh and one retry (wrong secret, clock, or a platform issue)."""

    retryable = True


class UserUnsubscribed(WeChatApiError):
    """43004: the user does not follow the account (template messages need a follower)."""


class OutsideServiceWindow(WeChatApiError):
    """45015: more than 48 hours since the user's last message, or the user unfollowed: no customer-service message."""


BUSY = -1
TOKEN_REJECTED = (40001, 40014, 42001)
BY_CODE: dict[int, type[WeChatApiError]] = {
    BUSY: RetryableApiError,
    45009: QuotaExceeded,
    43004: UserUnsubscribed,
    45015: OutsideServiceWindow,
}


def from_errcode(errcode: int, errmsg: str) -> WeChatApiError:
    """The exception for an errcode the platform answered."""
    return BY_CODE.get(errcode, WeChatApiError)(errcode, errmsg)
