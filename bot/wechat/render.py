"""Passive replies as the XML WeChat expects: text, image, a one-article news card, or the bare word `success`."""

from __future__ import annotations

from functools import singledispatch

from bot.wechat.messages import ImageReply, Incoming, NewsReply, Reply, TextReply

SUCCESS = "success"
# The platform rejects longer text replies (2048 bytes of UTF-8); cut on a character boundary with an ellipsis.
TEXT_LIMIT_BYTES = 2048


def cdata(value: str) -> str:
    """A CDATA section holding `value` exactly, even when it contains the end marker."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render(reply: Reply, msg: Incoming, account: str, now: int) -> str:
    """The reply body for `msg`: XML addressed back to the sender, or `success` for no reply."""
    if reply is None:
        return SUCCESS
    head = (
        f"<xml><ToUserName>{cdata(msg.openid)}</ToUserName><FromUserName>{cdata(account)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime>"
    )
    return head + _body(reply) + "</xml>"


@singledispatch
def _body(reply) -> str:
    raise TypeError(f"not a passive reply: {reply!r}")


@_body.register
def _(reply: TextReply) -> str:
    return f"<MsgType><![CDATA[text]]></MsgType><Content>{cdata(fit_text(reply.content))}</Content>"


@_body.register
def _(reply: ImageReply) -> str:
    return f"<MsgType><![CDATA[image]]></MsgType><Image><MediaId>{cdata(reply.media_id)}</MediaId></Image>"


@_body.register
def _(reply: NewsReply) -> str:
    # Exactly one article: the platform's limit for a reply to a user's message.
    article = (
        f"<item><Title>{cdata(reply.title)}</Title><Description>{cdata(reply.description)}</Description>"
        f"<PicUrl>{cdata(reply.image)}</PicUrl><Url>{cdata(reply.url)}</Url></item>"
    )
    return f"<MsgType><![CDATA[news]]></MsgType><ArticleCount>1</ArticleCount><Articles>{article}</Articles>"


def fit_text(text: str) -> str:
    """`text` cut to the platform's limit for a text reply."""
    if len(text.encode()) <= TEXT_LIMIT_BYTES:
        return text
    out = text.encode()[: TEXT_LIMIT_BYTES - 3].decode("utf-8", "ignore")
    return out + "…"
