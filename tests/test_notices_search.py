"""Search quality on the shipped notices with the shipped lexicon: short queries consumers might type on the search
page, judged by hand, measured and kept up (whole questions: tests/test_retrieval_eval.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from notices import NoticeStore
from notices.retrieval.lexicon import load
from tests.notices_kit import ROOT, SHIPPED

TIPS, GUIDE, PERSONAL = "2022-double11-tips", "2022-double11-rights-guide", "2022-personal-info-tips"
REPAIR, RULES, CAMPAIGN, PREPAID = (
    "2022-fake-repair-warning",
    "2022-promotion-compliance",
    "2022-online-market-campaign",
    "2022-prepaid-card-tips",
)

# Query -> the notices that really answer it (judged by reading them, before looking at the results).
JUDGED = {
    "七天无理由": {GUIDE, RULES, TIPS},
    "退货": {GUIDE, RULES, TIPS},
    "定金": {TIPS, RULES},
    "个人信息": {PERSONAL, RULES},
    "验证码": {PERSONAL},
    "人脸识别": {PERSONAL},
    "维修": {REPAIR},
    "售后电话": {REPAIR},
    "压缩机": {REPAIR},
    "保修期": {REPAIR},
    "预付卡": {PREPAID},
    "会员卡": {PREPAID},
    "退卡": {PREPAID},
    "停业": {PREPAID},
    "退款": {GUIDE, PREPAID},
    "虚构原价": {RULES, TIPS},
    "价格欺诈": {RULES, TIPS},
    "直播": {RULES, CAMPAIGN, TIPS},
    "抽奖": {RULES},
    "专项行动": {CAMPAIGN},
    "网络餐饮": {CAMPAIGN},
    "一老一小": {CAMPAIGN},
    "违法广告": {CAMPAIGN},
    "双十一": {TIPS, GUIDE, RULES, CAMPAIGN},
    "骚扰电话": {PERSONAL},
    "扫码": {PERSONAL},
    "运费": {GUIDE},
    "鲜活易腐": {GUIDE},
    "网购维权": {GUIDE},
    "商家跑路": {PREPAID},
}


def measure(store: NoticeStore) -> dict[str, float]:
    """Mean precision of the returned set, precision of the first result, and mean recall over JUDGED."""
    precision = first = recall = 0.0
    for query, relevant in JUDGED.items():
        found = [hit.notice.slug for hit in store.search(query)]
        hits = len(set(found) & relevant)
        precision += hits / len(found) if found else 0.0
        first += 1.0 if found and found[0] in relevant else 0.0
        recall += hits / len(relevant)
    n = len(JUDGED)
    return {"precision": precision / n, "precision_at_1": first / n, "recall": recall / n}


def test_search_precision_on_the_shipped_notices(tmp_path):
    for path in SHIPPED.glob("2022-*.md"):  # the judgements name the 2022 notices: measured on them alone
        shutil.copy(path, tmp_path / path.name)
    shutil.copytree(SHIPPED / "images", tmp_path / "images")
    figures = measure(NoticeStore(tmp_path, lexicon=load(ROOT / "content" / "synonyms.toml")))
    out = Path(ROOT / "test-artifacts")
    out.mkdir(exist_ok=True)
    line = ", ".join(f"{k} {v:.3f}" for k, v in figures.items())
    (out / "search-precision.txt").write_text(f"{len(JUDGED)} judged queries: {line}\n", encoding="utf-8")
    print(f"\nsearch on the shipped notices, {len(JUDGED)} judged queries: {line}")
    assert figures["precision_at_1"] == 1.0
    assert figures["precision"] >= 0.9
    assert figures["recall"] >= 0.9
