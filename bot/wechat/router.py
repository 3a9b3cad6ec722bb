"""The message router: handlers registered per message type, event, menu key and keyword (a registry, no if-chain).

Order for one message: interceptors (an active dialogue; "取消" always reaches it), then the menu key of a CLICK,
then the event, then keyword rules for text, then the handler of the message type, then the fallback.

A handler registered with `pure=True` only answers: it writes nothing (it may read, on a read-only session). The
webhook answers such a message without a write before the answer and records it afterwards (bot/wechat/inbox.py);
interceptors are skipped then, since a pure handler is used only for an event or for a sender in no dialogue. The
default is durable, so a handler that is not marked keeps the transaction before its answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.wechat.messages import Context, Reply

Handler = Callable[[Context], Reply]
# An interceptor returns NOT_MINE to let routing go on, or a reply (None included) to answer.
NOT_MINE = object()


@dataclass
class KeywordRule:
    """Text that matches `pattern` (exact, contains or regex) goes to `handler`."""

    name: str
    mode: str  # exact | contains | regex
    patterns: tuple[str, ...]
    handler: Handler
    priority: int = 0
    group: str = ""  # rules of one source (e.g. "content" for content/replies.toml) are replaced together
    pure: bool = False  # its handler only answers (see the module's docstring)
    _compiled: list[re.Pattern[str]] = field(default_factory=list, repr=False)

    def matches(self, text: str, folded: str | None = None) -> bool:
        """Whether `text` matches; `folded` is normalise(text) when the caller already has it."""
        if folded is None:
            folded = normalise(text)
        if self.mode == "exact":
            return folded in self.patterns
        if self.mode == "contains":
            return any(p in folded for p in self.patterns)
        if not self._compiled:
            self._compiled = [re.compile(p, re.IGNORECASE) for p in self.patterns]
        return any(c.search(text) for c in self._compiled)


def normalise(text: str) -> str:
    """Fold what users vary: case, full-width letters and digits, spaces (双 11 = 双11)."""
    out = []
    for ch in text.strip():
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:  # full-width ASCII
            ch = chr(code - 0xFEE0)
        if not ch.isspace():
            out.append(ch.lower())
    return "".join(out)


class Router:
    """Registries of handlers; `route(ctx)` picks one."""

    def __init__(self) -> None:
        self.interceptors: list[Callable[[Context], object]] = []
        self.types: dict[str, Handler] = {}
        self.events: dict[str, Handler] = {}
        self.menu_keys: dict[str, Handler] = {}
        self.rules: list[KeywordRule] = []
        self.fallback: Handler | None = None
        self.pure: set[Handler] = set()  # handlers registered with pure=True (and a pure fallback)

    def interceptor(self, fn: Callable[[Context], object]) -> Callable[[Context], object]:
        """Register a function that sees every message first (the active dialogue)."""
        self.interceptors.append(fn)
        return fn

    def message(self, *types: str, pure: bool = False) -> Callable[[Handler], Handler]:
        """Register a handler for message types (text, image, location, ...)."""
        return self._register(self.types, types, pure)

    def event(self, *events: str, pure: bool = False) -> Callable[[Handler], Handler]:
        """Register a handler for events (subscribe, unsubscribe, scan, ...), lower-case."""
        return self._register(self.events, tuple(e.lower() for e in events), pure)

    def menu(self, *keys: str, pure: bool = False) -> Callable[[Handler], Handler]:
        """Register a handler for CLICK menu keys."""
        return self._register(self.menu_keys, keys, pure)

    def keyword(
        self, *patterns: str, mode: str = "exact", name: str = "", priority: int = 0, pure: bool = False
    ) -> Callable[[Handler], Handler]:
        """Register a handler for text matching any pattern; higher priority is tried first."""

        def deco(fn: Handler) -> Handler:
            pats = tuple(p if mode == "regex" else normalise(p) for p in patterns)
            self.add_rule(KeywordRule(name or fn.__name__, mode, pats, fn, priority, pure=pure))
            return fn

        return deco

    def add_rule(self, rule: KeywordRule) -> None:
        """Add one keyword rule (kept sorted by priority, stable for equal priorities)."""
        self.rules = sorted([*self.rules, rule], key=lambda r: -r.priority)

    def replace_rules(self, group: str, rules: list[KeywordRule]) -> None:
        """Swap every rule of `group` for `rules` at once (a content reload); routing never sees a half-swap."""
        kept = [r for r in self.rules if r.group != group]
        for rule in rules:
            rule.group = group
        self.rules = sorted([*kept, *rules], key=lambda r: -r.priority)

    def route(self, ctx: Context) -> Reply:
        """The reply for one message."""
        for fn in self.interceptors:
            answer = fn(ctx)
            if answer is not NOT_MINE:
                return answer  # type: ignore[return-value]
        return self.pick(ctx)[0](ctx)

    def pick(self, ctx: Context) -> tuple[Handler, bool]:
        """The handler for a message, interceptors aside, and whether it is pure."""
        msg = ctx.msg
        if msg.type == "event":
            if msg.event == "click" and msg.key in self.menu_keys:
                return self._pure(self.menu_keys[msg.key])
            return self._pure(self.events.get(msg.event) or self._default)
        if msg.text:
            folded = normalise(msg.text)
            for rule in self.rules:
                if rule.matches(msg.text, folded):
                    return rule.handler, rule.pure
        return self._pure(self.types.get(msg.type) or self._default)

    def _pure(self, handler: Handler) -> tuple[Handler, bool]:
        if handler == self._default:
            return handler, self.fallback is None or self.fallback in self.pure
        return handler, handler in self.pure

    def _default(self, ctx: Context) -> Reply:
        if self.fallback is None:
            return None
        return self.fallback(ctx)

    def _register(self, table: dict[str, Handler], names: tuple[str, ...], pure: bool) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            for name in names:
                table[name] = fn
            if pure:
                self.pure.add(fn)
            return fn

        return deco


def get_router(app) -> Router:
    """The app's router, created on first use; each feature's init_app registers its handlers on it."""
    return app.extensions.setdefault("router", Router())
