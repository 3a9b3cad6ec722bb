"""Editable lead rules: categories by keyword (content/categories.toml), branches by town (content/branches.toml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.content import read
from bot.leads import places

# Why a business in another city goes to that city's bureau, by (kind, online).
OUT_OF_CITY = {
    ("complaint", True): "平台内经营者公示的地址所在地，第十三条",
    ("complaint", False): "经营者实际经营地/住所地",
    ("report", True): "平台内经营者实际经营地，第三十一条",
    ("report", False): "经营者实际经营地/住所地",
}

# The one word for a lead no branch has yet: the routing rule, the console, the exports and the report all use it.
UNASSIGNED = "待分派"


@dataclass(frozen=True)
class Match:
    """What a rule decided, and why (recorded on the lead)."""

    value: str | None
    rule: str
    transfer: str | None = None  # the bureau elsewhere a lead should be transferred to (已转办), when known


@dataclass(frozen=True)
class Branch:
    code: str
    name: str
    towns: tuple[str, ...]


@dataclass(frozen=True)
class Platform:
    name: str
    aliases: tuple[str, ...]
    domicile: str
    town: str
    bureau: str  # the market-regulation bureau where the operator is domiciled


class Categories:
    """Keyword rules tried in order; the first hit gives the category."""

    def __init__(self, path: Path) -> None:
        raw, source = read(path)
        self.names: list[str] = list(raw.get("categories", []))
        self.default: str = raw.get("default", "其他")
        self.rules: list[tuple[str, str, tuple[str, ...]]] = []
        for i, rule in enumerate(raw.get("rule", []), 1):
            line = source.line_of_table("rule", i - 1)
            if rule.get("category") not in self.names:
                problem = f"[[rule]] #{i}: category {rule.get('category')!r} is not in `categories`"
                raise source.error(source.line_of_key("category", line), problem)
            words = tuple(str(w).lower() for w in rule.get("keywords", []) if str(w).strip())
            if not words:
                raise source.error(line, f"[[rule]] #{i}: needs at least one keyword")
            self.rules.append((str(rule.get("name") or rule["category"]), rule["category"], words))
        if self.default not in self.names:
            raise source.error(source.line_of_key("default"), f"default: {self.default!r} is not in `categories`")

    def classify(self, text: str) -> Match:
        """The category of a lead's text, with the rule and keyword that decided it."""
        folded = text.lower()
        for name, category, words in self.rules:
            for word in words:
                if word in folded:
                    return Match(category, f"{name}：{word}")
        return Match(self.default, "无匹配规则")


class Branches:
    """Town names and aliases to branch codes, and platform operators to their domicile."""

    def __init__(self, path: Path) -> None:
        raw, source = read(path)
        self.city: str = raw.get("city", "")
        self.branches: dict[str, Branch] = {}
        self.aliases: list[tuple[str, str]] = []
        for i, b in enumerate(raw.get("branch", []), 1):
            line = source.line_of_table("branch", i - 1)
            if not b.get("code") or not b.get("name") or not b.get("towns"):
                raise source.error(line, f"[[branch]] #{i}: needs code, name and towns")
            if b["code"] in self.branches:
                raise source.error(
                    source.line_of_key("code", line), f"[[branch]] #{i}: code {b['code']!r} is used twice"
                )
            self.branches[b["code"]] = Branch(b["code"], b["name"], tuple(b["towns"]))
            self.aliases += [(t, b["code"]) for t in b["towns"]]
        self.platforms: list[Platform] = []
        for i, p in enumerate(raw.get("platform", []), 1):
            if not p.get("name") or not p.get("domicile"):
                raise source.error(
                    source.line_of_table("platform", i - 1), f"[[platform]] #{i}: needs name and domicile"
                )
            aliases = tuple(a.lower() for a in p.get("aliases", [p["name"]]))
            office = p.get("bureau") or places.bureau(p["domicile"])
            self.platforms.append(Platform(p["name"], aliases, p["domicile"], p.get("town", ""), office))

    def name(self, code: str | None) -> str:
        """The branch's display name (待分派 for none)."""
        return self.branches[code].name if code in self.branches else UNASSIGNED

    def town(self, text: str | None) -> tuple[str, str] | None:
        """(alias, branch code) of the first town mentioned in text; the longest alias wins at one position."""
        if not text:
            return None
        hits = [(text.find(alias), -len(alias), alias, code) for alias, code in self.aliases if alias in text]
        if not hits:
            return None
        _, _, alias, code = min(hits)
        return alias, code

    def platform(self, text: str | None) -> Platform | None:
        """The platform named in text, if it is in the table."""
        folded = (text or "").lower()
        for p in self.platforms:
            if any(a in folded for a in p.aliases):
                return p
        return None

    def route(self, kind: str, address: str | None, platform: str | None, online: bool = False) -> Match:
        """The branch for a lead: a business in another city goes to that city's bureau (a transfer); in the city,
        by its town; else, for a complaint about a platform seller, by the platform operator's domicile (Art 13)."""
        city = places.city_of(address)
        if city and city != self.city:
            office = places.bureau(city)
            where = OUT_OF_CITY[(kind, online)]
            return Match(None, f"转至 {office}（{where}）", office)
        found = self.town(address)
        if found:
            alias, code = found
            return Match(code, f"地址含“{alias}”→{self.branches[code].name}")
        p = self.platform(platform) if kind == "complaint" else None
        if p is not None:
            hit = self.town(p.town)
            if hit:
                return Match(hit[1], f"平台经营者{p.name}住所地在{p.town}（第十三条）→{self.branches[hit[1]].name}")
            if address and address.strip():
                return Match(
                    None, f"未能识别商家公示地址所在地，{UNASSIGNED}；也可转至 {p.bureau}（平台经营者住所地，第十三条）"
                )
            return Match(None, f"商家未公示地址：转至 {p.bureau}（平台经营者{p.name}住所地，第十三条）", p.bureau)
        return Match(None, f"未能识别商家所在镇街，{UNASSIGNED}")
