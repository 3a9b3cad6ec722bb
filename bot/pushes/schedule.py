"""What is due when: pushes from notices' front matter and recurring alerts from config, and quiet hours."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from flask import Flask
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.config import AppSettings, ConfigError
from bot.models import Push
from bot.pushes.settings import PushesSettings
from bot.pushes.sql import aware, insert_ignore

log = logging.getLogger(__name__)
CHANNELS = ("mass", "template", "custom")
SYNC_CANCEL = "推送安排已从公告或配置中删除或修改，未开始的推送已取消"


@dataclass(frozen=True)
class Planned:
    """One push that a notice or the config asks for."""

    slug: str
    due_at: datetime  # UTC
    channel: str
    audience: str
    source: str

    @property
    def key(self) -> tuple:
        return (self.slug, self.due_at, self.channel, self.audience)


def local_tz(app: Flask) -> ZoneInfo:
    """The bureau's time zone (Asia/Shanghai): push times and quiet hours are read in it."""
    return ZoneInfo(AppSettings.of(app).timezone)


def _hhmm(value: str) -> time:
    hours, _, minutes = value.partition(":")
    return time(int(hours), int(minutes))


def check_settings(source: str, settings: PushesSettings, timezone: str) -> None:
    """Stop the start with a one-line message naming the key when a [pushes] setting cannot be used."""
    tz = ZoneInfo(timezone)
    for key in ("quiet_start", "quiet_end"):
        try:
            _hhmm(getattr(settings, key))
        except ValueError:
            raise ConfigError(
                source, f"[pushes] {key}", f"{getattr(settings, key)!r} is not a time like 22:00"
            ) from None
    for i, entry in enumerate(settings.recurring):
        try:
            recurring_trigger(entry, tz)
            check_target(entry.get("channel", "template"), entry.get("audience", "all"))
            if not entry.get("notice"):
                raise ValueError('needs notice = "<slug>"')
        except (ValueError, AttributeError, TypeError) as exc:
            raise ConfigError(source, f"[pushes] recurring[{i}]", str(exc)) from None


def check_target(channel: Any, audience: Any) -> None:
    """Raise ValueError unless channel and audience are ones the dispatcher knows."""
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}")
    if not isinstance(audience, str) or not (
        audience == "all" or (audience.startswith(("tag:", "topic:")) and audience.partition(":")[2].strip())
    ):
        raise ValueError(f'audience must be all, "tag:<tag>" or "topic:<topic>", got {audience!r}')


def recurring_trigger(entry: dict, tz: ZoneInfo) -> CronTrigger:
    """The cron trigger of one `[pushes] recurring` entry (minute hour day month weekday)."""
    cron = entry.get("cron")
    if not isinstance(cron, str):
        raise ValueError('needs cron = "minute hour day month weekday", e.g. "0 9 1 11 *"')
    return CronTrigger.from_crontab(cron, timezone=tz)


def parse_at(value: Any, tz: ZoneInfo) -> datetime:
    """A front-matter `at` ("2026-11-01 09:00", local time) as an aware UTC datetime."""
    if isinstance(value, datetime):
        local = value if value.tzinfo else value.replace(tzinfo=tz)
    elif isinstance(value, date):
        local = datetime.combine(value, time(9, 0), tzinfo=tz)
    else:
        local = datetime.fromisoformat(str(value).strip().replace("/", "-"))
        local = local if local.tzinfo else local.replace(tzinfo=tz)
    return local.astimezone(ZoneInfo("UTC"))


def quiet_until(app: Flask, now: datetime) -> datetime | None:
    """The end of the quiet hours (UTC) when `now` falls inside them, else None."""
    settings = PushesSettings.of(app)
    start, end = _hhmm(settings.quiet_start), _hhmm(settings.quiet_end)
    if start == end:
        return None
    tz = local_tz(app)
    local = now.astimezone(tz)
    moment = local.time()
    if start < end:
        inside, day = start <= moment < end, local.date()
    else:
        inside = moment >= start or moment < end
        day = local.date() + timedelta(days=1) if moment >= start else local.date()
    if not inside:
        return None
    return datetime.combine(day, end, tzinfo=tz).astimezone(ZoneInfo("UTC"))


def planned_from_notices(app: Flask, now: datetime) -> list[Planned] | None:
    """Every push the live notices ask for (None when no notice store is loaded: then nothing is cancelled)."""
    store = app.extensions.get("notices")
    if store is None:
        return None
    notices = store.all()
    if not notices:
        return None
    tz, out = local_tz(app), []
    for notice in notices:
        for entry in getattr(notice, "push", None) or []:
            try:
                channel, audience = entry.get("channel", "template"), entry.get("audience", "all")
                check_target(channel, audience)
                out.append(Planned(notice.slug, parse_at(entry["at"], tz), channel, audience, "notice"))
            except (KeyError, ValueError, AttributeError, TypeError) as exc:
                log.warning("notice %s: push entry %r ignored: %s", notice.slug, entry, exc)
    return out


def planned_recurring(app: Flask, now: datetime) -> tuple[list[Planned], set[tuple]]:
    """(the next occurrence of each recurring alert, the keys of occurrences in the last day that may still run)."""
    tz, upcoming, recent = local_tz(app), [], set()
    for entry in PushesSettings.of(app).recurring:
        trigger = recurring_trigger(entry, tz)
        channel, audience = entry.get("channel", "template"), entry.get("audience", "all")
        fire = trigger.get_next_fire_time(None, now - timedelta(days=1))
        while fire is not None and fire <= now:
            recent.add((entry["notice"], fire.astimezone(ZoneInfo("UTC")), channel, audience))
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        if fire is not None:
            upcoming.append(Planned(entry["notice"], fire.astimezone(ZoneInfo("UTC")), channel, audience, "recurring"))
    return upcoming, recent


def sync(session: Session, app: Flask, now: datetime) -> dict[str, int]:
    """Bring Push rows in line with the notices and the config: create what is new, cancel what was removed."""
    catch_up = now - timedelta(hours=PushesSettings.of(app).catch_up_hours)
    from_notices = planned_from_notices(app, now)
    upcoming, recent = planned_recurring(app, now)
    wanted = [p for p in (from_notices or []) if p.due_at >= catch_up] + upcoming
    keep = {p.key for p in (from_notices or [])} | {p.key for p in upcoming} | recent
    rows = [
        {"notice_slug": p.slug, "due_at": p.due_at, "run_after": p.due_at, "channel": p.channel}
        | {"audience": p.audience, "source": p.source, "state": "scheduled", "report": {}, "created_at": now}
        for p in wanted
    ]
    created = insert_ignore(session, Push, rows, ["notice_slug", "due_at", "channel", "audience"])
    sources = ["recurring"] + (["notice"] if from_notices is not None else [])
    cancelled = 0
    for push in session.scalars(
        select(Push).where(
            Push.source.in_(sources),
            or_(Push.state == "scheduled", (Push.state == "cancelled") & (Push.due_at >= catch_up)),
        )
    ):
        key = (push.notice_slug, aware(push.due_at), push.channel, push.audience)
        if push.state == "scheduled" and key not in keep:
            push.state, push.last_error, push.report = "cancelled", SYNC_CANCEL, {**push.report, "cancelled_by": "sync"}
            cancelled += 1
        elif push.state == "cancelled" and push.report.get("cancelled_by") == "sync" and key in keep:
            push.state, push.last_error = "scheduled", None  # the editor put the schedule back
    return {"created": created, "cancelled": cancelled}
