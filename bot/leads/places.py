"""Which city an address names, read from its head (province, then city), and the market-regulation bureau of a
place: enough to route a business outside the city to the bureau that Art 13 makes competent.

An address that does not begin with its city, or whose city has no 市/自治州/地区/盟, is not read (None): the lead
then waits in the triage queue for staff rather than being sent to a guessed place.
"""

from __future__ import annotations

import re

MUNICIPALITIES = ("北京", "上海", "天津", "重庆")
PROVINCE = re.compile(r"^[\u4e00-\u9fff]{2,3}省|^(内蒙古|广西壮族|西藏|宁夏回族|新疆维吾尔)自治区")
CITY = re.compile(
    r"^([\u4e00-\u9fff]{2,10}?自治州|[\u4e00-\u9fff]{2,6}?地区|[\u4e00-\u9fff]{2,4}?盟|[\u4e00-\u9fff]{1,6}?市)"
)
# Without a province before it, a city is taken only when a district, county or town follows it, and never when
# the "市" ends a shop's name (超市, 菜市 ...).
FOLLOWED = re.compile(r"^[\u4e00-\u9fff]{1,6}?(区|县|旗|镇|乡|街道|市)")
NOT_CITIES = ("超市", "菜市", "街市", "夜市", "集市", "门市", "商市", "城市", "花市", "鱼市", "股市")


def city_of(address: str | None) -> str | None:
    """The city (地级市, 自治州 ..., or a municipality) an address begins with, e.g. 广州市; None when unsure."""
    text = re.sub(r"\s+", "", address or "").removeprefix("中国")
    for name in MUNICIPALITIES:
        if text.startswith(name):
            return f"{name}市"
    province = PROVINCE.match(text)
    rest = text[province.end() :] if province else text
    found = CITY.match(rest)
    if found is None or found.group(1).endswith(NOT_CITIES):
        return None
    if not province and not FOLLOWED.match(rest[found.end() :]):
        return None
    return found.group(1)


def bureau(place: str) -> str:
    """The market-regulation bureau of a place, e.g. 上海市长宁区 -> 上海市长宁区市场监督管理局 (no province)."""
    found = PROVINCE.match(place)
    return (place[found.end() :] if found else place) + "市场监督管理局"
