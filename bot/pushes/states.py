"""The Chinese words for a push's and a delivery's states, its channel and its audience: one word per state,
the same in `flask pushes` and in the console."""

from __future__ import annotations

PUSH_STATES = {
    "scheduled": "已排期",
    "expanding": "准备名单",
    "sending": "发送中",
    "paused": "已暂停",
    "done": "已完成",
    "refused": "未发送",
    "cancelled": "已取消",
    "failed": "失败",
}
DELIVERY_STATES = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已送达",
    "skipped": "已跳过",
    "failed": "发送失败",
}
CHANNEL_NAMES = {"mass": "群发", "template": "模板消息", "custom": "客服消息"}


def audience_name(audience: str, topics: dict[str, str] | None = None) -> str:
    """Who a push goes to, in words: 全部关注者, 标签“会员”, 订阅“双11”的用户."""
    if audience == "all":
        return "全部关注者"
    kind, _, value = audience.partition(":")
    if kind == "tag":
        return f"标签“{value}”"
    if kind == "topic":
        return f"订阅“{(topics or {}).get(value, value)}”的用户"
    return audience
