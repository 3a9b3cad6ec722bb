"""Every model, imported so that Base.metadata knows them all (migrations, tests)."""

from bot.models.followers import DialogueState, Follower, InboundMessage
from bot.models.leads import Evidence, Lead, LeadEvent, LeadMessage
from bot.models.notices import NOTICE_STATES, UNDELIVERED, LeadNotice
from bot.models.ops import AuditEntry, KeyValue, OutboxItem
from bot.models.pushes import Delivery, MassSend, Push
from bot.models.sandbox import (
    SandboxCall,
    SandboxMass,
    SandboxMassReceipt,
    SandboxMedia,
    SandboxMessage,
    SandboxTag,
    SandboxToken,
    SandboxUser,
)
from bot.models.staff import ConsoleSession, StaffUser
from bot.models.webhook import WebhookNonce

__all__ = [
    "NOTICE_STATES",
    "UNDELIVERED",
    "AuditEntry",
    "ConsoleSession",
    "Delivery",
    "DialogueState",
    "Evidence",
    "Follower",
    "InboundMessage",
    "KeyValue",
    "Lead",
    "LeadEvent",
    "LeadMessage",
    "LeadNotice",
    "MassSend",
    "OutboxItem",
    "Push",
    "SandboxCall",
    "SandboxMass",
    "SandboxMassReceipt",
    "SandboxMedia",
    "SandboxMessage",
    "SandboxTag",
    "SandboxToken",
    "SandboxUser",
    "StaffUser",
    "WebhookNonce",
]
