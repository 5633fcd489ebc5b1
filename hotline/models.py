"""Every table, imported in one place so that Alembic and the tests see the whole schema."""

from sqlmodel import SQLModel

from hotline.audit.models import AuditEntry
from hotline.auth.models import AuthSession, User
from hotline.categories import Category
from hotline.channels.models import Message, MessageAttachment
from hotline.citizens.models import ChannelIdentity, Citizen
from hotline.outbox.models import OutboxMessage
from hotline.supervision.models import CalendarYear, JobRun, SlaAlert, SupervisionOrder, TimeLimitPolicy
from hotline.tickets.models import Ticket, TicketAssignment, TicketEvent, TicketNumberCounter
from hotline.units.models import Unit

metadata = SQLModel.metadata

__all__ = [
    "AuditEntry",
    "AuthSession",
    "CalendarYear",
    "Category",
    "JobRun",
    "OutboxMessage",
    "SlaAlert",
    "SupervisionOrder",
    "TimeLimitPolicy",
    "ChannelIdentity",
    "Citizen",
    "Message",
    "MessageAttachment",
    "Ticket",
    "TicketAssignment",
    "TicketEvent",
    "TicketNumberCounter",
    "Unit",
    "User",
    "metadata",
]
