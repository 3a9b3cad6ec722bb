"""Addresses judged by what they contain, not by their length: a street and a number (升平中路8号), or a 镇街 and a
landmark or street (小榄镇利和广场, 坦洲镇界狮南路). 「小榄镇」 alone is Unclear: the town is understood, the
street or landmark is asked for. A mailing address needs a number a letter can be delivered to."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from bot.dialogue.answers import Answer, Result, Unclear

HAN = r"[\u4e00-\u9fffA-Za-z0-9]"
# A 镇街 of any city, or a district / county (天河区): at that level a street or landmark can be found.
TOWN = re.compile(r"[\u4e00-\u9fff]{2,4}?(镇|街道|乡|(?<![小社园业景校营厂])区|县)(?!上|里)")
ROAD = re.compile(rf"{HAN}{{1,10}}?(大道|大街|路|街(?!道)|(?<![街知渠频])道|巷|弄|胡同|村|社区|工业区|工业园)")
REGION = re.compile(r"^\s*([\u4e00-\u9fff]{2,3}?省)?\s*([\u4e00-\u9fff]{2,3}?市)?")  # 广东省中山市
NUMBER = re.compile(
    r"(\d+|[一二三四五六七八九十百零]+)\s*(号|栋|座|幢|楼|层|室|铺|单元|房|档|卡)|\d+\s*-\s*\d+|[a-z]\d{2,}", re.I
)
LANDMARK = re.compile(
    rf"{HAN}{{1,12}}?(广场|商场|市场|大厦|中心|花园|小区|公园|医院|学校|小学|中学|大学|酒店|宾馆|超市|步行街|商业街|"
    r"购物中心|天地|大楼|公寓|苑|庭|府|园|城|汇|站|码头|银行|影城|加油站|对面|旁边|附近|门口|楼下|隔壁|路口|交界处)"
)
LIMIT = 200


def town_in(text: str, towns: Iterable[str] = ()) -> str | None:
    """The 镇街 named in the text: one of the city's (longest first), else any word ending in 镇/街道/乡."""
    for town in sorted(towns, key=len, reverse=True):
        if town in text:
            return town
    m = TOWN.search(text)
    return m.group(0) if m else None


def parse_address(text: str, towns: Iterable[str] = (), mailing: bool = False) -> Result:
    """The address as typed (trimmed) when it can be found; Unclear names what was understood and what is missing."""
    clean = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()
    if len(clean) > LIMIT:
        return Unclear("too_long")
    town = town_in(clean, towns)
    rest = REGION.sub(" ", clean, count=1)
    rest = rest.replace(town, " ") if town else rest
    road, number, landmark = ROAD.search(rest), NUMBER.search(rest), LANDMARK.search(rest)
    place = road or landmark
    if mailing:
        if number and (place or town):
            return Answer(clean)
    elif (road and number) or (town and place) or (landmark and number):
        return Answer(clean)
    if place and not mailing:
        return Unclear("no_town", {"understood": place.group(0)})
    if place or (mailing and town and len(rest.strip()) > 1):
        return Unclear("no_number", {"understood": clean})
    if town:
        return Unclear("town_only", {"understood": town})
    return Unclear("invalid")
