"""Online or offline in the consumer's words, with the platform recognised: a table of real phrasings."""

from __future__ import annotations

import pytest

from bot.dialogue.answers import Answer, Unclear
from bot.dialogue.answers.channel import parse_channel

ONLINE, OFFLINE = True, False

TABLE = [  # (what the consumer wrote, online?, the platform recognised) — or the re-ask's reason
    ("线下门店，不是网购", OFFLINE, None),
    ("网上买的", ONLINE, None),
    ("在淘宝", ONLINE, "淘宝"),
    ("实体店", OFFLINE, None),
    ("超市里买的", OFFLINE, None),
    ("直播间下单", ONLINE, None),
    ("淘宝上买的", ONLINE, "淘宝"),
    ("天猫旗舰店", ONLINE, "天猫"),
    ("京东自营", ONLINE, "京东"),
    ("拼多多", ONLINE, "拼多多"),
    ("拼夕夕上买的", ONLINE, "拼多多"),
    ("抖音直播间", ONLINE, "抖音"),
    ("快手上一个主播卖的", ONLINE, "快手"),
    ("美团外卖", ONLINE, "美团"),
    ("饿了吗点的外卖", ONLINE, "饿了么"),
    ("小红书上", ONLINE, "小红书"),
    ("闲鱼上的二手", ONLINE, "闲鱼"),
    ("微信小程序", ONLINE, "微信小程序"),
    ("朋友圈微商", ONLINE, "微信（朋友圈、微商）"),
    ("唯品会", ONLINE, "唯品会"),
    ("得物app", ONLINE, "得物"),
    ("I bought it on Taobao", ONLINE, "淘宝"),
    ("外卖", ONLINE, None),
    ("不是网上买的", OFFLINE, None),
    ("不是实体店，是网店", ONLINE, None),
    ("商场里的专卖店", OFFLINE, None),
    ("上门服务的", OFFLINE, None),
    ("在家附近的药店", OFFLINE, None),
    ("苏宁门店", OFFLINE, None),  # a platform's own shop is a shop
    ("不是在淘宝买的，是实体店", OFFLINE, None),
    ("1", ONLINE, None),  # the numbered choice is always understood
    ("2", OFFLINE, None),
    ("网上下单，到店自提", "both", None),
    ("在网上看到广告，去店里买的", "both", None),
    ("随便", "invalid", None),
    ("不记得了", "invalid", None),
]


@pytest.mark.parametrize(("said", "meant", "platform"), TABLE, ids=[row[0] for row in TABLE])
def test_online_or_offline(said, meant, platform):
    result = parse_channel(said)
    if isinstance(meant, str):
        assert result == Unclear(meant)
    else:
        assert isinstance(result, Answer) and result.value is meant
        assert result.extra.get("platform") == platform
