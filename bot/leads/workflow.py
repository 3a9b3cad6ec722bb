"""The lead status flow: which transitions the law allows, what each needs, and how it moves the deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from bot.leads.deadlines import WorkCalendar, add_days, add_working_days
from bot.leads.settings import LeadsSettings
from bot.models import Lead, LeadEvent

# complaint (投诉, Art 15-25) and report (举报, Art 28-36) flows: status -> statuses it may move to.
FLOWS: dict[str, dict[str, tuple[str, ...]]] = {
    "complaint": {
        "新线索": ("已受理", "不予受理", "已转办"),
        "已受理": ("调解中", "终止调解"),  # a party may refuse mediation at the outset (Art 18: both must consent)
        "调解中": ("已办结", "终止调解"),
    },
    "report": {
        "新线索": ("核查中", "已转办"),
        "核查中": ("已立案", "不予立案"),
        "已立案": ("已办结",),
    },
}
OPEN_STATUSES: tuple[str, ...] = ("新线索", "已受理", "调解中", "核查中", "已立案")
CLOSED_STATUSES: tuple[str, ...] = ("不予受理", "已转办", "已办结", "终止调解", "不予立案")
ALL_STATUSES: tuple[str, ...] = OPEN_STATUSES + CLOSED_STATUSES
KIND_NAMES = {"complaint": "投诉", "report": "举报"}
# Key in Lead.extra while the queue flags a deadline that a calendar correction moved earlier (bot/leads/recompute.py);
# the lead's next status change clears it.
MOVED_EARLIER = "deadline_moved_earlier"

# Art 16: the seven grounds on which a complaint is not accepted.
REFUSAL_GROUNDS: dict[str, str] = {
    "16-1": "不属于市场监督管理部门职责，或者本行政机关不具有处理权限",
    "16-2": "法院、仲裁机构、市场监督管理部门或者其他行政机关、消费者协会已经受理或者处理过同一消费者权益争议",
    "16-3": "不是为生活消费需要购买、使用商品或者接受服务，或者不能证明与被投诉人之间存在消费者权益争议",
    "16-4": "除法律另有规定外，投诉人知道或者应当知道权益受到侵害之日起超过三年",
    "16-5": "未提供第十条第一款、第十一条规定的材料，或者提供虚假材料",
    "16-6": "冒用他人名义或者拒不配合核验真实身份信息",
    "16-7": "法律、法规、规章规定不予受理的其他情形",
}

# Art 23 ¶1: the grounds on which mediation is terminated.
TERMINATION_GROUNDS: dict[str, str] = {
    "23-1": "投诉人撤回投诉，或者双方自行和解",
    "23-2": "一方当事人无正当理由拒绝或者不参加调解",
    "23-3": "一方当事人表示无法达成调解协议",
    "23-4": "双方对委托鉴定、检测的费用由谁承担协商不成",
    "23-5": "自受理之日起六十日内未达成调解协议",
    "23-6": "受理后发现存在第十六条或者第四十二条规定的情形",
    "23-7": "一方当事人死亡或者终止",
    "23-8": "法律、法规、规章规定的应当终止调解的其他情形",
}
LIMIT_GROUND = "23-5"  # offered only once the mediation limit has passed
REFUSAL_OF_MEDIATION = "23-2"  # names the party that refused (Art 18: mediation needs both sides' consent)
PARTY_GROUNDS = ("23-2", "23-3", "23-7")  # the grounds that concern one party, which may be named
PARTIES = {"complainant": "投诉人", "business": "被投诉人"}


class TransitionError(ValueError):
    """A transition the flow or the law does not allow; the message is for staff, in Chinese."""


@dataclass
class Decision:
    """What a status change carries: a legal ground, where the lead was referred, the outcome, a remark."""

    ground: str | None = None
    referred_to: str | None = None
    outcome: str | None = None
    remark: str | None = None
    party: str | None = None  # a key of PARTIES: who refused mediation, said agreement is impossible, or ended


def allowed(lead: Lead) -> tuple[str, ...]:
    """The statuses this lead may move to now."""
    return FLOWS.get(lead.kind, {}).get(lead.status, ())


def is_open(status: str) -> bool:
    """True while a lead still has work (and a deadline) ahead."""
    return status in OPEN_STATUSES


def mediation_limit_passed(lead: Lead, today: date) -> bool:
    """True once the mediation limit (Art 23 ¶1(5), with paused days added, Art 22) has run out; never while the
    clock is paused for appraisal or testing."""
    paused = bool((lead.extra or {}).get("paused_since"))
    return lead.mediation_due is not None and not paused and today > lead.mediation_due


def termination_grounds(lead: Lead, today: date) -> dict[str, str]:
    """The Art 23 grounds this lead may be terminated on today: 23-5 only after the limit has passed."""
    passed = mediation_limit_passed(lead, today)
    return {code: text for code, text in TERMINATION_GROUNDS.items() if code != LIMIT_GROUND or passed}


def _clean(text: str | None) -> str:
    return (text or "").strip()


def _check(lead: Lead, to: str, d: Decision, today: date) -> dict[str, Any]:
    """Refuse an illegal transition or a missing requirement; return the event's detail."""
    if to not in allowed(lead):
        raise TransitionError(f"当前状态为“{lead.status}”，不能变更为“{to}”。")
    detail: dict[str, Any] = {"from": lead.status}
    if to == "不予受理":
        if d.ground not in REFUSAL_GROUNDS:
            raise TransitionError("不予受理须选择《办法》第十六条规定的一项理由。")
        detail |= {"ground": d.ground, "ground_text": REFUSAL_GROUNDS[d.ground]}
    elif to == "终止调解":
        if d.ground not in TERMINATION_GROUNDS:
            raise TransitionError("终止调解须选择《办法》第二十三条规定的一项情形。")
        if d.ground not in termination_grounds(lead, today):
            why = (
                "调解期限因鉴定或检测中止（第二十二条）"
                if (lead.extra or {}).get("paused_since")
                else f"调解期限至 {lead.mediation_due.isoformat() if lead.mediation_due else '受理后六十日'} 才届满"
            )
            raise TransitionError(f"{why}，期限尚未届满，不能以“六十日内未达成调解协议”终止调解。")
        detail |= {"ground": d.ground, "ground_text": TERMINATION_GROUNDS[d.ground]}
        if d.ground == REFUSAL_OF_MEDIATION and d.party not in PARTIES:
            raise TransitionError("请选择拒绝或者不参加调解的一方（投诉人或被投诉人）。")
        if d.ground in PARTY_GROUNDS and d.party in PARTIES:
            detail["party"] = PARTIES[d.party]
    elif to == "已转办":
        if not _clean(d.referred_to):
            raise TransitionError("转办须写明转往的部门或单位。")
        detail["referred_to"] = _clean(d.referred_to)
    elif to in ("已办结", "不予立案"):
        if not _clean(d.outcome):
            raise TransitionError("办结须写明办理结果。" if to == "已办结" else "不予立案须写明理由。")
        detail["outcome"] = _clean(d.outcome)
    return detail


def transition(
    session: Session,
    lead: Lead,
    to: str,
    decision: Decision | None = None,
    *,
    today: date,
    actor_id: int | None = None,
    periods: LeadsSettings | None = None,
    cal: WorkCalendar | None = None,
) -> LeadEvent:
    """Move a lead to `to` if the flow allows it, record a LeadEvent and move `next_due`; never commits."""
    d = decision or Decision()
    detail = _check(lead, to, d, today)
    flow = periods or LeadsSettings()  # the statutory periods, each with its article in config.toml
    lead.status = to
    if MOVED_EARLIER in (lead.extra or {}):
        lead.extra = {k: v for k, v in lead.extra.items() if k != MOVED_EARLIER}
    _move_deadlines(lead, to, today, flow, cal, detail)
    if "referred_to" in detail:
        lead.extra = {**(lead.extra or {}), "referred_to": detail["referred_to"]}
    if "outcome" in detail:
        lead.outcome = detail["outcome"]
    elif "ground_text" in detail:
        lead.outcome = detail["ground_text"] + (f"（{detail['party']}）" if "party" in detail else "")
    event = LeadEvent(
        lead_id=lead.id,
        actor_id=actor_id,
        kind="status",
        status=to,
        lead_kind=lead.kind,  # read by the statistics' step counts (bot/console/figures.py)
        text=_clean(d.remark) or None,
        detail=detail,
    )
    session.add(event)
    return event


def _move_deadlines(
    lead: Lead, to: str, today: date, flow: LeadsSettings, cal: WorkCalendar | None, detail: dict
) -> None:
    """Set the nearest open statutory deadline after a change to `to` (None once the lead is closed)."""
    if to == "已受理":
        lead.accepted_on = today
        lead.mediation_due = add_days(today, flow.mediation_days, cal)  # Art 23 ¶1(5)
        lead.next_due = lead.mediation_due
    elif to == "调解中":
        if lead.mediation_due is None:
            lead.mediation_due = add_days(lead.accepted_on or today, flow.mediation_days, cal)
        # While appraisal or testing pauses the clock (Art 22) no deadline runs.
        lead.next_due = None if (lead.extra or {}).get("paused_since") else lead.mediation_due
    elif to == "核查中":
        if lead.verify_due is None:  # Art 35: 15 working days from receipt
            lead.verify_due = add_working_days(lead.received_on, flow.verify_working_days, cal)
        lead.next_due = lead.verify_due
    elif to == "已立案":
        lead.next_due = None  # the case runs under the administrative-penalty procedure, outside this flow
    else:
        lead.closed_on = today
        lead.next_due = None
        _end_pause(lead, today, detail)
    if to == "终止调解":  # Art 23 last ¶: tell both sides within 7 working days
        days = flow.termination_notice_working_days
        detail["notify_due"] = add_working_days(today, days, cal).isoformat()


def _end_pause(lead: Lead, today: date, detail: dict) -> None:
    """A lead closed while its clock is paused keeps the paused days on record and is no longer paused."""
    extra = dict(lead.extra or {})
    since = extra.pop("paused_since", None)
    if since is None:
        return
    extra["paused_days"] = extra.get("paused_days", 0) + (today - date.fromisoformat(since)).days
    lead.extra = extra
    detail["pause_ended"] = since
