"""The retrieval engine (notices/retrieval/) on notices written for each test and on the shipped ones: ranking,
synonyms, traditional characters, typos, current before archive, paragraphs quoted, hostile and odd input."""

from __future__ import annotations

from pathlib import Path

import pytest

from notices import NoticeStore
from notices.retrieval import LexiconError, from_data
from notices.retrieval.lexicon import load
from notices.retrieval.text import fold, only_emoji
from tests.notices_kit import ROOT, SHIPPED, write_notice

LEXICON = load(ROOT / "content" / "synonyms.toml")

RETURNS = """
## 一、哪些商品可以无理由退货

网购的商品，自签收之日起七日内可以无理由退货，商品应当完好。

## 二、运费谁出

退货的运费一般由消费者承担，商家另有约定的除外。
"""
PREPAID = """
## 商家关门了怎么办

健身房、美容院停业，预付卡里还有余额的，请保存好合同和充值记录，及时投诉。
"""
REPAIR = """
上门维修前先问清报价，不要轻信搜索到的售后电话。
"""


@pytest.fixture
def store(tmp_path) -> NoticeStore:
    d = tmp_path / "notices"
    write_notice(d, "returns", title="网购七日无理由退货指南", keywords="[无理由退货]", body=RETURNS, date="2026-03-01")
    write_notice(d, "prepaid", title="预付卡消费提示", keywords="[预付卡]", body=PREPAID, date="2026-02-01")
    write_notice(d, "repair", title="当心山寨维修", keywords="[维修]", body=REPAIR, date="2026-01-01")
    return NoticeStore(d, interval=0, lexicon=LEXICON)


def first(store: NoticeStore, question: str) -> str | None:
    """The notice ranked first (whatever its confidence: three notices make a small corpus)."""
    hits = store.search(question, min_confidence=0.0)
    return hits[0].notice.slug if hits else None


@pytest.mark.parametrize(
    ("question", "slug"),
    [
        ("网上买的衣服能退吗", "returns"),  # 网上买 = 网购, 退 = 退货: no word of the title as typed
        ("退回去的快递费谁掏", "returns"),
        ("办的会员卡，老板跑路了", "prepaid"),  # 会员卡 = 预付卡, 跑路 = 停业/关门
        ("健身房倒闭了卡里的钱还能要回来吗", "prepaid"),
        ("空调坏了找人上门修，要注意什么", "repair"),
    ],
)
def test_a_question_finds_the_notice_that_answers_it(store, question, slug):
    assert first(store, question) == slug


def test_traditional_characters_and_full_width_letters_are_folded(store):
    assert fold("網購ＡＢＣ會員卡") == "网购abc会员卡"
    assert first(store, "網上買的衣服能退嗎") == "returns"
    assert first(store, "會員卡老闆跑路了") == "prepaid"


def test_a_mistyped_word_is_still_found(store):
    assert first(store, "七天无里由") == "returns"  # 理 typed as 里
    analyzer = store.searcher.engine(store.all()).analyzer
    assert "w:个人信息" in {t.term for t in analyzer.tokens("个人信患", query=True)}
    assert "w:保健品" in {t.term for t in analyzer.tokens("保建品", query=True)}
    assert "w:不想要" not in {t.term for t in analyzer.tokens("不想留名字", query=True)}  # three characters: too close


def test_the_paragraph_that_answers_is_quoted_and_its_words_marked(store):
    hit = store.search("退货运费谁出")[0]
    assert hit.notice.slug == "returns"
    assert hit.passage.startswith("退货的运费一般由消费者承担")
    assert "<mark>运费</mark>" in str(hit.snippet)


def test_current_notices_rank_above_the_archive_on_the_same_topic(tmp_path):
    d = tmp_path / "notices"
    same = {"keywords": "[预付卡]", "body": PREPAID}
    write_notice(d, "old-prepaid", title="预付卡消费提示", date="2022-12-15", **same)
    write_notice(d, "new-prepaid", title="预付卡消费提示", date="2026-05-01", **same)
    found = [h.notice.slug for h in NoticeStore(d, interval=0, lexicon=LEXICON).search("会员卡商家关门了")]
    assert found == ["new-prepaid", "old-prepaid"]


def test_snippets_escape_what_they_show(tmp_path):
    d = tmp_path / "notices"
    write_notice(d, "a", title="标价提示", keywords="[标价]", body="价签写着 3 < 5 & 标价要真实。\n")
    hit = NoticeStore(d, interval=0, lexicon=LEXICON).search("<script>标价</script>")[0]
    assert hit.passage == "价签写着 3 < 5 & 标价要真实。"
    assert str(hit.snippet) == "价签写着 3 &lt; 5 &amp; <mark>标价</mark>要真实。"


@pytest.mark.parametrize(
    "text",
    ["", "   ", "😀😀👍", "[微笑][强]", "？？？", "的了吗", "x" * 5000, "退" * 5000, "hello 你好 😀 \u200d\x00"],
)
def test_odd_input_is_answered_without_error(store, text):
    hits = store.search(text)
    assert isinstance(hits, list)


def test_long_input_is_read_in_bounded_time(store):
    import time

    text = "我在网上买的衣服想退货，" * 500  # 6,000 characters
    started = time.perf_counter()
    assert first(store, text) == "returns"
    assert time.perf_counter() - started < 0.5


def test_emoji_only_is_recognised():
    assert only_emoji("😀👍🏻") and only_emoji("[微笑] /::)") and only_emoji("❤️！")
    assert not only_emoji("退货😀") and not only_emoji("") and not only_emoji("ok")


def test_nothing_relevant_finds_nothing(store):
    assert store.search("今天天气怎么样") == []
    assert store.search("hello world") == []


def test_lexicon_mistakes_are_named():
    with pytest.raises(LexiconError) as bad:
        from_data({"group": [{"words": ["退货", "退款"]}, {"words": ["退款", "退钱"]}]})
    assert bad.value.index == 1 and "退款" in bad.value.message
    with pytest.raises(LexiconError):
        from_data({"group": [{"words": ["退货", "退 款!"]}]})
    with pytest.raises(LexiconError):
        from_data({"stopwords": ["的"], "group": [{"words": ["的", "地"]}]})
    with pytest.raises(LexiconError):
        from_data({"group": [{"words": ["a", "b"], "weight": 2}]})
    with pytest.raises(LexiconError):
        from_data({"words": "退货"})


def test_the_shipped_lexicon_loads_and_the_shipped_notices_answer():
    store = NoticeStore(SHIPPED, interval=0, lexicon=LEXICON)
    by_keyword = {k for n in store.all() for k in n.keywords}
    assert by_keyword  # the notices' keywords join the lexicon as words
    hit = store.search("网上买的衣服能退吗")[0]
    assert any("无理由" in k for k in hit.notice.keywords)


def test_a_lexicon_edit_changes_the_answers_and_the_generation(tmp_path):
    d = tmp_path / "notices"
    write_notice(d, "parcel", title="快递丢了怎么办", keywords="[快递丢了]", body="包裹丢失，先找商家。\n")
    store = NoticeStore(d, interval=0, lexicon=from_data({}))
    before = store.generation
    assert store.search("物流") == []  # 物流 = 快递 only with the lexicon
    store.set_lexicon(from_data({"group": [{"words": ["快递", "物流"]}]}))
    assert store.generation != before
    assert [h.notice.slug for h in store.search("物流")] == ["parcel"]


def test_questions_file_paths_exist():
    assert Path(ROOT / "tests" / "data" / "questions_dev.toml").exists()
