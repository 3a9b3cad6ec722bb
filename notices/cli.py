"""`flask notices check` (every problem as file:line: message), `new <slug>`, and the search's `ask` and `evaluate`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from notices.model import local_now
from notices.parse import SLUG
from notices.retrieval.evaluate import evaluate, read_questions

notices_cli = AppGroup("notices", help="Editors' notices under content/notices.")

TEMPLATE = """\
---
title: 在此填写标题
date: {today}
category: 消费提示  # 消费提示、维权指南、合规指导、典型案例、通知公告 之一
keywords: [在此填写关键词]  # 消费者在公众号里发送的词，如 [双11, 退货]
summary: 在此用一两句话概括，会显示在列表和公众号图文消息里。
# cover: {slug}.jpg  # 封面图片，放在 content/notices/images/ 下
# expires: {today}  # 过期日期，过期后页面仍可访问，但会标明“已过期”
---

在此用 Markdown 撰写正文。

## 小标题

- 要点一
- 要点二
"""


@notices_cli.command("check")
def check_command() -> None:
    """Check every notice file; print each problem as file:line: message; exit 1 if there is any."""
    store = current_app.extensions["notices"]
    store.refresh(force=True)
    problems = store.problems()
    base = Path.cwd()
    for problem in problems:
        click.echo(problem.show(base))
    files = len({p.path for p in problems})
    checked = len(list(store.dir.glob("*.md")))
    if problems:
        click.echo(f"共检查 {checked} 个文件，发现 {len(problems)} 个问题，涉及 {files} 个文件（{store.dir}）")
        raise SystemExit(1)
    click.echo(f"共检查 {checked} 个文件，没有发现问题（{store.dir}）")


@notices_cli.command("new")
@click.argument("slug")
def new_command(slug: str) -> None:
    """Write content/notices/<slug>.md from a template dated today."""
    store = current_app.extensions["notices"]
    if not SLUG.match(slug):
        raise click.ClickException(f"“{slug}”不能用作文件名：只能用小写英文字母、数字和连字符（它就是网页地址）")
    path = store.dir / f"{slug}.md"
    if path.exists():
        raise click.ClickException(f"{path} 已经存在，请换一个名字")
    store.dir.mkdir(parents=True, exist_ok=True)
    path.write_text(TEMPLATE.format(today=local_now(store.tz).date().isoformat(), slug=slug), encoding="utf-8")
    click.echo(f"已创建 {path}：请填写各字段和正文，然后运行 flask notices check")


@notices_cli.command("ask")
@click.argument("question")
def ask_command(question: str) -> None:
    """Show what the search engine answers to a question: the first three notices, their confidence and passage."""
    hits = current_app.extensions["notices"].search(question, limit=3)
    if not hits:
        click.echo("没有找到相关的公告")
    for n, hit in enumerate(hits, 1):
        click.echo(f"{n}. {hit.notice.slug}  得分 {hit.score:.2f}  把握 {hit.confidence:.2f}  {hit.notice.title}")
        click.echo(f"   {hit.passage}")


@notices_cli.command("evaluate")
@click.argument("questions", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def evaluate_command(questions: Path) -> None:
    """Top-1 and top-3 accuracy of the search over a questions file ([[q]] text, answer), and the misses."""
    report = evaluate(current_app.extensions["notices"], read_questions(questions))
    for line in report.lines():
        click.echo(line)
