"""`flask notices ...`: check every file (file:line: message), write a new draft, publish a draft, print a draft's
preview link, and the search's `ask` and `evaluate`."""

from __future__ import annotations

import os
import re
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from notices.model import Problem, local_now
from notices.parse import SLUG
from notices.preview import expires_at, preview_path
from notices.retrieval.evaluate import evaluate, read_questions
from notices.store import NoticeStore
from notices.template import TEMPLATE

notices_cli = AppGroup("notices", help="Editors' notices under content/notices.")
DRAFT_LINE = re.compile(r"^draft\s*:")


def _store() -> NoticeStore:
    store = current_app.extensions["notices"]
    store.refresh(force=True)
    return store


def _url(path: str) -> str:
    return (current_app.config.get("NOTICES_PUBLIC_URL") or "") + path


@notices_cli.command("check")
def check_command() -> None:
    """Check every notice file, drafts included; print each problem as file:line: message; exit 1 if there is any.

    Besides the store's own checks, the app may add its own (app.extensions["notices_checks"]: callables taking the
    store and returning Problems), e.g. the pushes' tags, which need the WeChat platform.
    """
    store = _store()
    problems = store.problems()
    for extra in current_app.extensions.get("notices_checks", []):
        problems += extra(store)
    problems.sort(key=lambda p: (str(p.path), p.line))
    base = Path.cwd()
    for problem in problems:
        click.echo(problem.show(base))
    files = len({p.path for p in problems})
    checked = len(list(store.dir.glob("*.md")))
    if problems:
        click.echo(f"共检查 {checked} 个文件，发现 {len(problems)} 个问题，涉及 {files} 个文件（{store.dir}）")
        raise SystemExit(1)
    drafts = len(store.drafts())
    click.echo(f"共检查 {checked} 个文件（其中草稿 {drafts} 篇），没有发现问题（{store.dir}）")


@notices_cli.command("new")
@click.argument("slug")
def new_command(slug: str) -> None:
    """Write content/notices/<slug>.md from a template dated today, as a draft (off the site and out of the bot)."""
    store = current_app.extensions["notices"]
    if not SLUG.match(slug):
        raise click.ClickException(f"“{slug}”不能用作文件名：只能用小写英文字母、数字和连字符（它就是网页地址）")
    path = store.dir / f"{slug}.md"
    if path.exists():
        raise click.ClickException(f"{path} 已经存在，请换一个名字")
    store.dir.mkdir(parents=True, exist_ok=True)
    path.write_text(TEMPLATE.format(today=local_now(store.tz).date().isoformat(), slug=slug), encoding="utf-8")
    click.echo(f"已创建草稿 {path}：请填写各字段和正文，运行 flask notices check 检查，")
    click.echo(f"用 flask notices preview-link {slug} 取得预览链接，写好后用 flask notices publish {slug} 发布。")


def _draft_file(store: NoticeStore, slug: str) -> Path:
    """The file of the notice at /notices/<slug>, published, draft or broken."""
    found = store.get(slug) or store.draft(slug)
    path = found.path if found is not None else store.dir / f"{slug.lower()}.md"
    if not SLUG.match(slug.lower()) or not path.is_file():
        raise click.ClickException(f"没有这篇公告：{path}（flask notices new {slug} 可新建）")
    return path


def _write(path: Path, text: str) -> None:
    """Replace the file at once, so that a reader never sees it half written."""
    partial = path.with_name(f".{path.name}.publishing")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


@notices_cli.command("publish")
@click.argument("slug")
def publish_command(slug: str) -> None:
    """Publish a draft: remove its `draft:` line, once its file passes the check."""
    store = _store()
    path = _draft_file(store, slug)
    if store.get(slug) is not None:
        click.echo(f"{path.name} 已经是发布状态：{_url('/notices/' + slug.lower())}")
        return
    own = [p for p in store.problems() if p.path == path]
    if own or store.draft(slug) is None:
        _refuse(own, path)
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    kept = [line for i, line in enumerate(lines) if not (0 < i < end and DRAFT_LINE.match(line))]
    _write(path, "".join(kept))
    notice = _store().get(slug)
    if notice is None:  # the file changed under us, or another file now claims the address
        _write(path, text)
        _refuse([p for p in _store().problems() if p.path == path], path)
    click.echo(f"已发布：{_url('/notices/' + notice.slug)}（网站、搜索和公众号关键词回复即刻可见）")
    today = local_now(store.tz).date()
    if notice.date < today:
        click.echo(f"注意：公告日期仍是 {notice.date}；如要显示今天的日期，请把 date 改为 {today}。")


def _refuse(problems: list[Problem], path: Path, what: str = "没有发布：请改正后再运行 flask notices publish") -> None:
    for problem in problems:
        click.echo(problem.show(Path.cwd()))
    raise click.ClickException(f"{path.name} 还有以上问题，{what}")


@notices_cli.command("preview-link")
@click.argument("slug")
def preview_link_command(slug: str) -> None:
    """Print a signed link that shows a draft, with a 草稿预览 banner, for seven days."""
    store = _store()
    path = _draft_file(store, slug)
    if store.get(slug) is not None:
        click.echo(f"{path.name} 已经发布，直接打开：{_url('/notices/' + slug.lower())}")
        return
    if store.draft(slug) is None:
        _refuse([p for p in store.problems() if p.path == path], path, "无法预览：请先改正")
    until = expires_at().astimezone(store.tz).strftime("%Y-%m-%d %H:%M")
    click.echo(f"草稿预览链接（{until} 前有效，拿到链接的人都能看到）：")
    click.echo(_url(preview_path(current_app, slug)))


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
