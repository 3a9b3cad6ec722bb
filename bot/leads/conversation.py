"""A lead is a conversation: after a staff reply, what the consumer writes next belongs to that lead.

The sender's state is the dialogue_state row (Follower.in_dialogue tells the webhook it exists): flow "lead" is the
complaint dialogue, flow "conversation" lists the leads whose staff reply awaits an answer (data {"leads": [...]},
newest last; {"pending": ...} holds a message while the consumer chooses among several leads). A consumer in the
middle of the complaint dialogue keeps it; `补充 <编号>` reaches any of their open leads at any time.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.leads.workflow import OPEN_STATUSES
from bot.models import DialogueState, Lead, LeadMessage

FLOW = "conversation"


def open_after_reply(s: Session, lead: Lead, now: datetime) -> None:
    """Let the consumer answer a staff reply on `lead` (never commits)."""
    if not lead.openid:
        return
    state = s.get(DialogueState, lead.openid)
    if state is None:
        data = json.dumps({"leads": [lead.id]})
        try:
            with s.begin_nested():  # the consumer may open a dialogue at this very moment: theirs wins
                s.add(DialogueState(openid=lead.openid, flow=FLOW, step="open", data=data, history=[], updated_at=now))
        except IntegrityError:
            return
    elif state.flow == FLOW:
        data = json.loads(state.data or "{}")
        data["leads"] = [i for i in data.get("leads", []) if i != lead.id] + [lead.id]
        state.data, state.updated_at = json.dumps(data), now


def record(s: Session, lead: Lead, now: datetime, *, text: str | None = None, evidence_id: int | None = None) -> None:
    """One message from the consumer on the lead's timeline, unread until staff open the lead."""
    s.add(LeadMessage(lead_id=lead.id, at=now, text=text, evidence_id=evidence_id))


def open_leads(s: Session, openid: str, ids: list[int] | None = None) -> list[Lead]:
    """The consumer's open leads (of `ids` when given), newest first."""
    query = select(Lead).where(Lead.openid == openid, Lead.status.in_(OPEN_STATUSES))
    if ids is not None:
        query = query.where(Lead.id.in_(ids))
    return list(s.scalars(query.order_by(Lead.id.desc())))


def own_lead(s: Session, openid: str, ticket: str) -> Lead | None:
    """The lead with this ticket if this openid filed it (never says whether another's exists)."""
    return s.scalars(select(Lead).where(Lead.ticket == ticket, Lead.openid == openid)).one_or_none()


def unread_counts(s: Session, lead_ids: list[int]) -> dict[int, int]:
    """Unread consumer messages per lead, for the queue's marks."""
    if not lead_ids:
        return {}
    query = (
        select(LeadMessage.lead_id, func.count())
        .where(LeadMessage.lead_id.in_(lead_ids), LeadMessage.read_at.is_(None))
        .group_by(LeadMessage.lead_id)
    )
    return {lead_id: count for lead_id, count in s.execute(query)}


def messages(s: Session, lead_id: int) -> list[LeadMessage]:
    return list(s.scalars(select(LeadMessage).where(LeadMessage.lead_id == lead_id).order_by(LeadMessage.id)))


def mark_read(conn: Connection, lead_id: int, now: datetime) -> None:
    """Mark the lead's consumer messages read (the lead page was shown to staff who may see it)."""
    unread = (LeadMessage.lead_id == lead_id, LeadMessage.read_at.is_(None))
    conn.execute(update(LeadMessage).where(*unread).values(read_at=now))
