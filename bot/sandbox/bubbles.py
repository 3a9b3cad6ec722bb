"""What the chat page draws: bubbles for the user's actions, the passive replies and the API-side messages.

A bubble is a dict {id, side, kind, at, ...}: kind text (with `html`: WeChat's <a href> links kept as links, every
other character escaped), image (`src`), news (title, description, url, image), template (title, lines, url),
location (label, lat, lon), note (a grey line: follow, menu taps) or error (the webhook refused the message).
"""

from __future__ import annotations

import json
import re
from typing import Any

from markupsafe import escape

from bot.models import SandboxCall, SandboxMessage
from bot.sandbox.platform import aware

# A link as WeChat draws it in a text message: <a href="...">label</a>, double or single quotes.
LINK = re.compile(r"""<a\s+href\s*=\s*(["'])(?P<href>[^"'<>]*)\1\s*>(?P<label>[^<]*)</a>""", re.I)
SAFE_HREF = re.compile(r"^(https?://|/)", re.I)
# A bare web address, which WeChat also shows as a link (it ends before spaces and Chinese punctuation).
BARE_URL = re.compile(r"https?://[^\s<>\"'，。；：！？、）》」]+", re.I)


def text_html(text: str) -> str:
    """`text` as safe HTML: <a href="http...">label</a> stays a link (opening a new tab), all else is escaped."""
    out, pos = [], 0
    for m in LINK.finditer(text):
        out.append(_linked(text[pos : m.start()]))
        href, label = m["href"], m["label"]
        if SAFE_HREF.match(href):
            out.append(f'<a href="{escape(href)}" target="_blank" rel="noopener">{escape(label)}</a>')
        else:
            out.append(str(escape(m[0])))
        pos = m.end()
    out.append(_linked(text[pos:]))
    return "".join(out).replace("\n", "<br>")


def _linked(text: str) -> str:
    """Escaped text whose bare web addresses are links."""
    out, pos = [], 0
    for m in BARE_URL.finditer(text):
        out.append(str(escape(text[pos : m.start()])))
        out.append(f'<a href="{escape(m[0])}" target="_blank" rel="noopener">{escape(m[0])}</a>')
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return "".join(out)


def reply_fields(reply: dict[str, str]) -> tuple[str, dict[str, Any]] | None:
    """A passive reply's XML fields as (kind, payload) to store; None for a reply with nothing to show."""
    msg_type = reply.get("MsgType")
    if msg_type == "text":
        return "text", {"text": reply.get("Content", "")}
    if msg_type == "image":
        return "image", {"media_id": reply.get("MediaId", "")}
    if msg_type == "news":
        keys = {"title": "Title", "description": "Description", "url": "Url", "image": "PicUrl"}
        return "news", {k: reply.get(v, "") for k, v in keys.items()}
    return ("text", {"text": f"[{msg_type} 消息]"}) if msg_type else None


def media_src(media_id: str) -> str:
    """Where the page shows a sandbox media file."""
    return f"/sandbox/media/{media_id}"


def _finish(bubble: dict[str, Any]) -> dict[str, Any]:
    if bubble["kind"] == "text":
        bubble["html"] = text_html(bubble.pop("text", ""))
    if bubble["kind"] == "image" and "src" not in bubble:
        bubble["src"] = media_src(bubble.get("media_id", ""))
    return bubble


def message_bubble(row: SandboxMessage) -> dict[str, Any]:
    """A stored line of the chat as a bubble."""
    payload = json.loads(row.payload)
    bubble = {"id": f"m{row.id}", "side": row.side, "kind": row.kind, "at": aware(row.at).isoformat(), **payload}
    return _finish(bubble)


def call_bubble(call: SandboxCall) -> dict[str, Any] | None:
    """A message the app sent through the API side (customer-service, template, mass or preview) as a bubble."""
    body = call.body or {}
    head = {"id": f"c{call.id}", "side": "bot", "at": aware(call.at).isoformat(), "via": call.channel}
    if call.channel == "template":
        return {**head, **_template(body)}
    msgtype = body.get("msgtype")
    content = body.get(msgtype) if isinstance(msgtype, str) else None
    content = content if isinstance(content, dict) else {}
    if msgtype == "text":
        return _finish({**head, "kind": "text", "text": str(content.get("content", ""))})
    if msgtype == "image":
        return _finish({**head, "kind": "image", "media_id": str(content.get("media_id", ""))})
    if msgtype == "news" and content.get("articles"):
        article = content["articles"][0]
        keys = {"title": "title", "description": "description", "url": "url", "image": "picurl"}
        return {**head, "kind": "news", **{k: str(article.get(v) or "") for k, v in keys.items()}}
    return _finish({**head, "kind": "text", "text": f"[{msgtype or '未知类型'}消息]"})


def _template(body: dict[str, Any]) -> dict[str, Any]:
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    lines = []
    for key, item in data.items():
        value = item.get("value", "") if isinstance(item, dict) else item
        lines.append({"key": str(key), "value": str(value)})
    title = f"模板消息 {body.get('template_id', '')}"
    return {"kind": "template", "title": title, "lines": lines, "url": body.get("url")}


def call_summary(call: SandboxCall) -> str:
    """One line of what a recorded call carried, for the outbox page."""
    body = dict(call.body or {})
    if call.channel == "template":
        lines = _template(body)["lines"]
        return "；".join(f"{line['key']}：{line['value']}" for line in lines) or "（无内容）"
    msgtype = body.get("msgtype")
    if isinstance(msgtype, str) and isinstance(body.get(msgtype), dict):
        content = body[msgtype]
        if msgtype == "text":
            return str(content.get("content", ""))
        if msgtype == "news" and content.get("articles"):
            return "图文：" + str(content["articles"][0].get("title", ""))
        return f"{msgtype}：{content.get('media_id', '')}"
    body.pop("touser", None)
    return json.dumps(body, ensure_ascii=False)[:300] if body else ""
