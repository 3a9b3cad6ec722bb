"""The editors' notices in the browser: the list, the form with a phone-sized preview, save as draft, publish, withdraw.

The form writes the same content/notices/<slug>.md files as `flask notices` and git (notices/saving.py checks each
save by the rules of `flask notices check` and refuses an edit made on a file changed since it was opened).
"""

from __future__ import annotations

import difflib
import logging
from datetime import datetime

from flask import current_app, flash, redirect, render_template, request, url_for

from bot import clock
from bot.console import audit, bp
from bot.console.access import EDITOR_ROLES, current_staff, requires
from bot.console.cells import without_controls
from bot.console.notices_rows import audiences, notice_rows
from bot.db import session, utcnow
from bot.pushes.schedule import sync
from bot.pushes.states import CHANNEL_NAMES
from notices import commits, pictures
from notices.editing import EditedNotice, PushRow, from_text, split_keywords
from notices.model import CATEGORIES
from notices.parse import SLUG
from notices.preview import preview_path
from notices.render import markdown_to_html
from notices.saving import MAX_SLUG, Outcome, fingerprint, save
from notices.store import NoticeStore

log = logging.getLogger(__name__)
UPLOAD_LIMIT = 32 * 1024 * 1024  # a request with a picture up to this size is read, so that its size is told
FRAME_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'self'"
FIELDS = {"general", "slug", "title", "date", "category", "keywords", "summary", "cover", "expires", "pushes", "body"}
ACTIONS = {
    ("draft", False): ("notice_draft", "草稿已保存：网站和公众号都还看不到它。"),
    ("draft", True): ("notice_unpublish", "已撤回为草稿：网站、搜索和公众号不再显示它。"),
    ("publish", False): ("notice_publish", "已发布：网站、搜索和公众号关键词回复即刻可见。"),
    ("publish", True): ("notice_update", "修改已保存，公告保持发布。"),
}


def _store() -> NoticeStore:
    store = current_app.extensions["notices"]
    store.refresh(force=True)  # a change made on disk shows on the next page
    return store


@bp.get("/notices")
@requires(*EDITOR_ROLES)
def notices_list():
    """Every notice file, newest first, with its state (已发布, 草稿, 已过期, 有问题, 已排期推送)."""
    store = _store()
    return render_template("console/notices.html", rows=notice_rows(store, lambda s: preview_path(current_app, s)))


@bp.get("/notices/new")
@requires(*EDITOR_ROLES)
def notice_new():
    """An empty form for a new notice, dated today."""
    store = _store()
    form = EditedNotice(date=clock.today(store.tz).isoformat(), category=CATEGORIES[0])
    return _page(form, new=True)


@bp.get("/notices/<slug>/edit")
@requires(*EDITOR_ROLES)
def notice_edit(slug: str):
    """The form filled from the file as it is on disk now, carrying the file's fingerprint."""
    store = _store()
    path = store.dir / f"{slug}.md"
    if not SLUG.match(slug) or len(slug) > MAX_SLUG or not path.is_file():
        return render_template("console/error.html", code=404, text="没有这篇公告。"), 404
    data = path.read_bytes()
    form, trouble = from_text(slug, data.decode("utf-8", "replace"))
    problems = {"general": [trouble]} if trouble else {}
    own = [p.message for p in store.problems() if p.path == path]
    if own and not trouble:
        problems["general"] = ["文件里现有以下问题，改正后才能保存：", *own]
    return _page(form, version=fingerprint(data), problems=problems, published=store.get(slug) is not None)


@bp.post("/notices/new")
@requires(*EDITOR_ROLES)
def notice_create():
    """Save a new notice (as a draft or published), unless its address is taken or it has a problem."""
    return _save(None)


@bp.post("/notices/<slug>/edit")
@requires(*EDITOR_ROLES)
def notice_save(slug: str):
    """Save the edited notice, refused when the file changed since the form was opened."""
    return _save(slug)


notice_create.upload_limit = notice_save.upload_limit = UPLOAD_LIMIT  # read by the console's before_request


def _save(slug: str | None):
    form, image_error = _read_form(slug), None
    store = _store()
    path = store.dir / f"{form.slug}.md"
    was_published = slug is not None and store.get(form.slug) is not None
    opened = None if slug is None else request.form.get("version", "")
    image = None
    if image_error is None and request.files.get("cover_file"):
        try:
            upload = request.files["cover_file"].stream
            size = upload.seek(0, 2)
            upload.seek(0)
            image = pictures.checked(upload.read(pictures.MAX_BYTES + 1), size)
            form.cover = image[0]
        except pictures.PictureError as exc:
            image_error = str(exc)
    if image_error:
        return _page(form, new=slug is None, version=opened or "", problems={"cover": [image_error]}), 422
    outcome = save(store, form, opened, image)
    if outcome.conflict is not None:
        return _conflict(form, outcome)
    if not outcome.saved:
        if image is not None:
            outcome.add("cover", "图片尚未保存：改正其他问题后，请重新选择图片")
        return _page(form, new=slug is None, version=opened or "", problems=outcome.problems), 422
    action, message = ACTIONS[("publish" if not form.draft else "draft", was_published)]
    _after_save(form, action, path, outcome)
    flash(message)
    return redirect(url_for("console.notice_edit", slug=form.slug), code=303)


def _read_form(slug: str | None) -> EditedNotice:
    """The notice as the form describes it (the draft flag from the button pressed)."""
    f = request.form

    def text(name: str, limit: int = 200) -> str:
        return " ".join(without_controls(f.get(name, "")).split())[:limit]

    form = EditedNotice(
        slug=slug if slug is not None else text("slug", 80).lower(),
        title=text("title"),
        date=text("date", 10),
        category=text("category", 20),
        keywords=split_keywords(text("keywords", 500)),
        summary=text("summary", 500),
        cover="" if f.get("cover_remove") else text("cover", 80),
        expires=text("expires", 10),
        body=without_controls(f.get("body", ""))[:200_000],
        draft=f.get("action", "draft") != "publish",
    )
    for at, channel, audience in zip(
        f.getlist("push_at"), f.getlist("push_channel"), f.getlist("push_audience"), strict=False
    ):
        if at.strip():
            form.pushes.append(PushRow(at.strip().replace("T", " ")[:16], channel.strip(), audience.strip()))
    return form


def _after_save(form: EditedNotice, action: str, path, outcome: Outcome) -> None:
    """Audit the save, commit it to git when the content is a repository, and bring the pushes in line."""
    staff = current_staff()
    detail = f"{form.slug}.md" + (f"（上传图片 {outcome.image.name}）" if outcome.image else "")
    s = session()
    audit.record(s, action, detail=detail)
    s.commit()
    name = "".join(c for c in (staff.display_name or staff.username) if c not in "<>\n") or staff.username
    author = f"{name} <{staff.username}@console>"
    paths = [path] + ([outcome.image] if outcome.image else [])
    commits.commit(path.parent, paths, author, f"{audit.ACTIONS[action]} {form.slug}: {form.title}")
    try:
        sync(s, current_app, utcnow())
        s.commit()
    except Exception:  # the save stands; the scheduler's next sync brings the pushes in line
        s.rollback()
        log.exception("pushes not synced after saving notice %s", form.slug)


def _conflict(form: EditedNotice, outcome: Outcome):
    """The editor's text shown again with the difference from the file as someone else left it."""
    current = outcome.conflict or ""
    mine = form.to_text()
    diff = list(
        difflib.unified_diff(current.splitlines(), mine.splitlines(), "文件现在的内容", "您的修改", lineterm="", n=2)
    )
    warning = (
        "这篇公告在您打开之后已被他人修改，您的修改没有保存。下面列出了文件现在的内容与您的修改之间的差异；"
        "您的修改仍在表单里。核对后再次保存，将以您的版本为准。"
        if current
        else "这篇公告的文件在您打开之后已被删除，您的修改没有保存；您的修改仍在表单里，再次保存将重新创建它。"
    )
    return _page(form, version=outcome.version, problems={"general": [warning]}, diff=diff), 409


def _page(form: EditedNotice, new: bool = False, version: str = "", problems=None, diff=None, published=None):
    store = current_app.extensions["notices"]
    if published is None:
        published = not new and store.get(form.slug) is not None
    problems = dict(problems or {})
    for name in [n for n in problems if n not in FIELDS and not n.startswith("push.")]:
        problems.setdefault("general", []).extend(problems.pop(name))
    return render_template(
        "console/notice_form.html",
        form=form,
        new=new,
        version=version,
        published=published,
        problems=problems,
        diff=diff,
        categories=CATEGORIES,
        channels=CHANNEL_NAMES,
        audiences=audiences(current_app, form),
        preview_link=None if new or published else preview_path(current_app, form.slug),
    )


@bp.post("/notices/preview")
@requires(*EDITOR_ROLES)
def notice_preview():
    """The notice as the form describes it, through the public page's template, for the phone-sized frame."""
    form = _read_form(request.form.get("slug") or "preview")
    store = _store()
    try:
        day = datetime.strptime(form.date, "%Y-%m-%d").date()
    except ValueError:
        day = clock.today(store.tz)
    cover = form.cover if form.cover and (store.images / form.cover).is_file() else None
    shown = _Preview(form.slug or "preview", form.title or "（未填写标题）", day, form.category, form.summary, cover)
    shown.html = markdown_to_html(form.body)
    page = render_template("notices/notice.html", notice=shown, related=[], preview_until=None)
    return page, 200, {"Content-Security-Policy": FRAME_CSP, "X-Frame-Options": "SAMEORIGIN"}


class _Preview:
    """What the public notice page reads of a notice, made from the form (never stored)."""

    expired, expires, html = False, None, ""

    def __init__(self, slug, title, date, category, summary, cover) -> None:
        self.slug, self.title, self.date, self.summary, self.cover = slug, title, date, summary, cover
        self.category = category if category in CATEGORIES else CATEGORIES[0]
