"""How well free questions find the notice that answers them: top-1 and top-3 accuracy of the search over sets
of consumers' questions (tests/data/*.toml, `[[q]] text = "..."  answer = "<slug>"`), printed and kept up.

- questions.toml: the questions over the shipped notices (the current ones and the archive), when present;
- questions_dev.toml: the development set over the 2022 archive alone (it holds whatever else is shipped).

The same figures: `flask --app bot notices evaluate tests/data/questions.toml`.
"""

from __future__ import annotations

import shutil

import pytest

from notices import NoticeStore
from notices.retrieval.evaluate import evaluate, read_questions
from notices.retrieval.lexicon import load
from tests.notices_kit import ROOT, SHIPPED

DATA = ROOT / "tests" / "data"
LEXICON = load(ROOT / "content" / "synonyms.toml")
TOP1, TOP3 = 0.80, 0.95


def measured(store: NoticeStore, name: str):
    questions = read_questions(DATA / name)
    missing = sorted({q.answer for q in questions} - {n.slug for n in store.all()})
    assert missing == [], f"{name} names notices that do not exist"
    report = evaluate(store, questions)
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / f"retrieval-{name.removesuffix('.toml')}.txt").write_text("\n".join(report.lines()) + "\n", "utf-8")
    print(f"\n{name}: " + "\n".join(report.lines()))
    return report


@pytest.mark.skipif(not (DATA / "questions.toml").exists(), reason="tests/data/questions.toml is not there")
def test_free_questions_find_their_notice():
    report = measured(NoticeStore(SHIPPED, interval=0, lexicon=LEXICON), "questions.toml")
    assert report.total >= 80
    assert report.top1_rate >= TOP1 and report.top3_rate >= TOP3


def test_the_development_questions_find_their_notice_in_the_archive(tmp_path):
    for path in SHIPPED.glob("2022-*.md"):
        shutil.copy(path, tmp_path / path.name)
    shutil.copytree(SHIPPED / "images", tmp_path / "images")
    report = measured(NoticeStore(tmp_path, interval=0, lexicon=LEXICON), "questions_dev.toml")
    assert report.total >= 30
    assert report.top1_rate >= TOP1 and report.top3_rate >= TOP3
