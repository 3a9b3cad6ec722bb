"""Where the purchase happened, in words: 网上买的, 在淘宝, 直播间下单 (online) or 实体店, 超市里买的, 线下门店，
不是网购 (offline), with the platform recognised when one is named (淘宝, 京东, 拼多多, 抖音, 美团 ...)."""

from __future__ import annotations

import re
import unicodedata

from bot.dialogue.answers import Answer, Result, Unclear, bare

# Canonical platform name -> what people call it (lower case; checked longest first).
PLATFORMS: dict[str, tuple[str, ...]] = {
    "淘宝": ("淘宝", "taobao", "某宝", "淘特", "tb"),
    "天猫": ("天猫", "tmall"),
    "京东": ("京东", "jd", "狗东"),
    "拼多多": ("拼多多", "pdd", "拼夕夕", "多多买菜"),
    "抖音": ("抖音", "douyin", "抖店", "dy"),
    "快手": ("快手", "kuaishou"),
    "美团": ("美团", "大众点评", "meituan"),
    "饿了么": ("饿了么", "饿了吗", "饿了嘛", "eleme"),
    "小红书": ("小红书", "红书", "xhs"),
    "闲鱼": ("闲鱼", "咸鱼"),
    "微信小程序": ("微信小程序", "小程序"),
    "微信视频号": ("视频号",),
    "微信（朋友圈、微商）": ("朋友圈", "微商", "微信群", "微信上", "微信里", "加微信"),
    "唯品会": ("唯品会", "vip.com"),
    "得物": ("得物", "毒app"),
    "苏宁易购": ("苏宁易购", "苏宁"),
    "当当": ("当当",),
    "1688": ("1688", "阿里巴巴"),
    "携程": ("携程",),
    "飞猪": ("飞猪",),
    "去哪儿": ("去哪儿",),
    "盒马": ("盒马",),
    "叮咚买菜": ("叮咚买菜", "叮咚"),
    "转转": ("转转",),
    "京东到家": ("京东到家",),
    "网易严选": ("网易严选", "严选"),
    "Temu": ("temu",),
    "SHEIN": ("shein",),
}
_ALIASES = sorted(((a, name) for name, aliases in PLATFORMS.items() for a in aliases), key=lambda p: -len(p[0]))
_ASCII_ALIAS = re.compile(r"^[a-z0-9.]+$")

ONLINE = re.compile(
    r"网上|网购|线上|网店|网络|网站|电商|app|小程序|公众号|直播|主播|外卖|快递|下单|链接|团购|旗舰店|官网|在线|代购|网页|商城"
)
OFFLINE = re.compile(
    r"线下|实体|门店|店里|店内|店面|到店|现场|商场|超市|市场|街上|路边|摊|专卖店|便利店|药店|药房|饭店|餐厅|酒楼|酒店|"
    r"4s|营业厅|柜台|上门|当面|理发|美容院|健身|影院|菜场|商店|小卖部|门口|附近的|楼下|商铺|加油站|医院|诊所"
)
NEGATION = r"(不是|并非|没有?在?|不在|非)"


def platform_in(text: str) -> str | None:
    """The canonical name of the platform named in `text`, if any."""
    folded = unicodedata.normalize("NFKC", text).lower()
    for alias, name in _ALIASES:
        if _ASCII_ALIAS.match(alias):
            if re.search(rf"(?<![a-z]){re.escape(alias)}(?![a-z])", folded):
                return name
        elif alias in folded.replace(" ", ""):
            return name
    return None


def parse_channel(text: str) -> Result:
    """True (online, with extra["platform"] when named) or False (offline); 1 and 2 are the numbered choice."""
    word = bare(text)
    if word in ("1", "一"):
        return Answer(True)
    if word in ("2", "二"):
        return Answer(False)
    platform = platform_in(text)
    online, offline = _cues(word)
    if platform and not _negated(word, platform) and (online or not offline):  # 苏宁门店 is a shop
        return Answer(True, extra={"platform": platform})
    if online and not offline:
        return Answer(True)
    if offline and not online:
        return Answer(False)
    return Unclear("both" if online and offline else "invalid")


def _negated(word: str, found: str) -> bool:
    return bool(re.search(NEGATION + r".{0,3}" + re.escape(found.lower()), word))


def _cues(word: str) -> tuple[bool, bool]:
    """(online, offline) after turning the negated ones round: 不是网购 is offline, 不是实体店 online."""
    online = offline = False
    for clause in re.split(r"[,，。;；、!！]|而是|但是", word):
        for pattern, mine in ((ONLINE, True), (OFFLINE, False)):
            for m in pattern.finditer(clause):
                negated = re.search(NEGATION + r".{0,3}$", clause[: m.start()])
                if mine != bool(negated):
                    online = True
                else:
                    offline = True
    return online, offline
