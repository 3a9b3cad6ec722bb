"""Deadlines recomputed when the working-day calendar changes, and the `flask calendar` / `flask leads` commands.

A lead's deadlines are stored (the queue reads them by index), so a corrected calendar (a year's arrangement added to
`[calendar]`, a `holidays` release that carries a newly published year) must reach the leads already open. Each open
lead's deadlines are computed again from its own events: receipt, acceptance, the days its mediation was paused
(Art 22), its one extension (Art 35), with the periods in `[leads]`. A changed date is written with a system event on
the lead's timeline giving the old and the new date; a date that moved earlier is flagged in the queue until the lead
next changes status, so that nobody misses a deadline that came closer.

The scheduler that holds the lease does this by itself when the calendar's fingerprint differs from the one it last
used (kept in key_value); web processes never do it at start (several start at once, and a cold start stays fast).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db import get_db
from bot.leads import deadlines
from bot.leads.notices import earliest, pending_dues
from bot.leads.settings import LeadsSettings
from bot.leads.workflow import MOVED_EARLIER, OPEN_STATUSES
from bot.models import KeyValue, Lead, LeadEvent
from bot.scheduler import periodic

log = logging.getLogger(__name__)

FINGERPRINT_KEY = "calendar.fingerprint"
DUE_FIELDS = ("accept_due", "mediation_due", "verify_due", "next_due")
FIELD_NAMES = {"accept_due": "受理期限", "mediation_due": "调解期限", "verify_due": "核查期限", "next_due": "当前期限"}
BATCH = 500


@dataclass(frozen=True)
class Change:
    """One stored deadline that the calendar now puts on another day."""

    lead_id: int
    ticket: str
    field: str
    old: date | None
    new: date | None

    @property
    def earlier(self) -> bool:
        return self.old is not None and self.new is not None and self.new < self.old

    def show(self) -> str:
        old, new = (d.isoformat() if d else "无" for d in (self.old, self.new))
        return f"{self.ticket} {FIELD_NAMES[self.field]}：{old} → {new}" + ("（提前）" if self.earlier else "")


def expected(
    lead: Lead, periods: LeadsSettings, cal: deadlines.WorkCalendar, notice_due: date | None = None
) -> dict[str, date | None]:
    """The deadlines an open lead should have, from its own events, the periods in `[leads]` and the calendar;
    `notice_due`, the earliest deadline of a notice not yet delivered (bot/leads/notices.py), holds next_due."""
    extra = lead.extra or {}
    due: dict[str, date | None] = {}
    if lead.kind == "complaint":
        due["accept_due"] = deadlines.add_working_days(lead.received_on, periods.accept_working_days, cal)
        if lead.accepted_on is not None:  # Art 23 ¶1(5), with the days paused for appraisal added (Art 22)
            days = periods.mediation_days + int(extra.get("paused_days", 0))
            due["mediation_due"] = deadlines.add_days(lead.accepted_on, days, cal)
        if lead.status == "新线索":
            due["next_due"] = due["accept_due"]
        elif lead.status in ("已受理", "调解中"):
            due["next_due"] = None if extra.get("paused_since") else due.get("mediation_due")
    else:
        verify = deadlines.add_working_days(lead.received_on, periods.verify_working_days, cal)
        if extra.get("extended"):  # Art 35: once, by the approved number of working days
            verify = deadlines.add_working_days(verify, int(extra["extended"]["days"]), cal)
        due["verify_due"] = verify
        if lead.status in ("新线索", "核查中"):
            due["next_due"] = verify
    if "next_due" in due:
        due["next_due"] = earliest(due["next_due"], notice_due)
    return due


def changes_for(
    lead: Lead, periods: LeadsSettings, cal: deadlines.WorkCalendar, notice_due: date | None = None
) -> list[Change]:
    """The stored deadlines of this lead that differ from what the calendar gives now."""
    return [
        Change(lead.id, lead.ticket, name, getattr(lead, name), new)
        for name, new in expected(lead, periods, cal, notice_due).items()
        if getattr(lead, name) != new
    ]


def apply(s: Session, lead: Lead, changes: list[Change], fingerprint: str) -> None:
    """Store the new dates, record them on the timeline as a system event, flag a deadline that came earlier."""
    for change in changes:
        setattr(lead, change.field, change.new)
    moved = [c for c in changes if c.earlier]
    if moved:
        first = min(moved, key=lambda c: c.new)
        lead.extra = {
            **(lead.extra or {}),
            MOVED_EARLIER: {"field": first.field, "old": first.old.isoformat(), "new": first.new.isoformat()},
        }
    detail = {
        "calendar": fingerprint,
        "changes": [
            {"field": c.field, "old": c.old.isoformat() if c.old else None, "new": c.new.isoformat() if c.new else None}
            for c in changes
        ],
    }
    s.add(LeadEvent(lead_id=lead.id, actor_id=None, kind="deadlines_recomputed", detail=detail))


def recompute(app: Flask, *, dry_run: bool = False, progress=None) -> tuple[int, list[Change]]:
    """Check every open lead against the calendar, in batches of BATCH leads, each batch its own transaction.
    Returns (leads checked, changes); with dry_run nothing is written. `progress(checked)` is called per batch."""
    cal, periods = deadlines.calendar_for(app), LeadsSettings.of(app)
    fingerprint = cal.fingerprint()
    checked, found, after = 0, [], 0
    while True:
        with get_db(app).scope() as s:
            batch = select(Lead).where(Lead.status.in_(OPEN_STATUSES), Lead.id > after).order_by(Lead.id).limit(BATCH)
            # Locked (PostgreSQL) so that a status change made meanwhile in the console waits for this batch.
            leads = s.scalars(batch if dry_run else batch.with_for_update()).all()
            if not leads:
                break
            owed = pending_dues(s, [lead.id for lead in leads])
            for lead in leads:
                changes = changes_for(lead, periods, cal, owed.get(lead.id))
                if changes:
                    found += changes
                    if not dry_run:
                        apply(s, lead, changes, fingerprint)
            after, checked = leads[-1].id, checked + len(leads)
            if dry_run:
                s.rollback()
        if progress:
            progress(checked)
    return checked, found


def stored_fingerprint(app: Flask) -> str | None:
    with get_db(app).scope() as s:
        row = s.get(KeyValue, FINGERPRINT_KEY)
        return row.value if row else None


def remember_fingerprint(app: Flask, fingerprint: str) -> None:
    with get_db(app).scope() as s:
        row = s.get(KeyValue, FINGERPRINT_KEY)
        if row is None:
            s.add(KeyValue(key=FINGERPRINT_KEY, value=fingerprint))
        else:
            row.value = fingerprint


def recompute_if_calendar_changed(app: Flask) -> str | None:
    """The scheduler's job: recompute once per calendar fingerprint (config edited, package upgraded). Its first run
    in a process also logs the years whose arrangement is missing."""
    if not app.extensions.get("calendar_logged"):
        app.extensions["calendar_logged"] = True
        deadlines.log_status(app)
    fingerprint = deadlines.calendar_for(app).fingerprint()
    if stored_fingerprint(app) == fingerprint:
        return None
    checked, changes = recompute(app)
    remember_fingerprint(app, fingerprint)
    leads = len({c.lead_id for c in changes})
    log.info(
        "calendar %s: %d open leads checked, %d deadlines changed on %d leads",
        fingerprint,
        checked,
        len(changes),
        leads,
    )
    return f"calendar {fingerprint}: {len(changes)} deadlines changed on {leads} leads"


# ---------------------------------------------------------------- commands

calendar_cli = AppGroup("calendar", help="The working-day calendar of the statutory deadlines.")
leads_cli = AppGroup("leads", help="Complaints and reports (leads).")


@calendar_cli.command("status")
@click.option("--years", default=3, show_default=True, help="How many years from this one.")
def calendar_status(years: int) -> None:
    """Where each year's working days come from (this year and the next ones), and what is missing."""
    cal = deadlines.calendar_for(current_app)
    first = deadlines.today_local(current_app).year
    for known in map(cal.year, range(first, first + years)):
        click.echo(known.describe())
    click.echo(f"日历指纹：{cal.fingerprint()}")


@calendar_cli.command("workdays")
@click.argument("start", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("days", type=click.IntRange(0, 3650))
@click.option("--calendar-days", is_flag=True, help="Count calendar days (a limit in days, e.g. mediation's 60).")
def calendar_workdays(start, days: int, calendar_days: bool) -> None:
    """The last day of a period of DAYS working days from START, the receipt day not counted (Art 45)."""
    cal, day = deadlines.calendar_for(current_app), start.date()
    if calendar_days:
        end = deadlines.add_days(day, days, cal)
        rule = "最后一日为节假日的，顺延至其后第一个工作日"
        click.echo(f"{day.isoformat()} 起 {days} 日，期限届满日：{end.isoformat()}（{rule}）")
    else:
        end = deadlines.add_working_days(day, days, cal)
        click.echo(f"{day.isoformat()} 收到，{days} 个工作日，期限届满日：{end.isoformat()}（当日不计入）")
    for year in sorted({day.year, end.year}):
        known = cal.year(year)
        if not known.complete:
            click.echo(f"注意：{known.describe()}", err=True)


@leads_cli.command("recompute-deadlines")
@click.option("--dry-run", is_flag=True, help="Say what would change and write nothing.")
def recompute_command(dry_run: bool) -> None:
    """Compute the deadlines of every open lead again with the current calendar; changes go on each timeline."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with get_db(app).scope() as s:
        open_leads = s.scalar(select(func.count()).select_from(Lead).where(Lead.status.in_(OPEN_STATUSES)))
    click.echo(f"检查 {open_leads} 条办理中的线索……")
    checked, changes = recompute(
        app, dry_run=dry_run, progress=lambda n: click.echo(f"  已检查 {n}/{open_leads}", err=True)
    )
    for change in changes:
        click.echo(change.show())
    leads = len({c.lead_id for c in changes})
    verb = "将变更" if dry_run else "已变更"
    click.echo(
        f"检查 {checked} 条，{verb} {len(changes)} 个期限（{leads} 条线索）"
        + ("；未写入（--dry-run）" if dry_run else "")
    )
    if not dry_run:
        remember_fingerprint(app, deadlines.calendar_for(app).fingerprint())


def init_app(app: Flask) -> None:
    """Register the commands and the scheduler's check of the calendar (which logs the calendar's gaps first)."""
    app.cli.add_command(calendar_cli)
    app.cli.add_command(leads_cli)
    periodic(app, "calendar", 3600, recompute_if_calendar_changed, first_after=5)
