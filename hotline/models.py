"""Every table, imported in one place so that Alembic and the tests see the whole schema."""

from sqlmodel import SQLModel

from hotline.audit.models import AuditEntry
from hotline.auth.models import AuthSession, User
from hotline.calls.models import Call, CallEvent, CallTicket, MissedCallback, OperatorSeat
from hotline.categories import Category
from hotline.channels.models import Message, MessageAttachment
from hotline.citizens.models import ChannelIdentity, Citizen
from hotline.outbox.models import OutboxMessage
from hotline.supervision.models import CalendarYear, JobRun, SlaAlert, SupervisionOrder, TimeLimitPolicy
from hotline.surveys.models import CallbackSurvey, SurveyResponse, SurveySamplingRule
from hotline.tickets.models import (
    Ticket,
    TicketAssignment,
    TicketAttachment,
    TicketEvent,
    TicketNumberCounter,
    TicketReturn,
)
from hotline.units.models import Unit
from knowledge_base.models import (
    KbAutoAnswer,
    KbEntry,
    KbEntryVersion,
    KbFeedback,
    KbProposal,
    PlatformCase,
    PlatformEvent,
    ServiceItem,
    TicketServiceItem,
)
from routing.models import ClassificationExample, DispatchRule, DispatchRuleVersion, TicketSuggestion

metadata = SQLModel.metadata

__all__ = [
    "AuditEntry",
    "AuthSession",
    "Call",
    "CallEvent",
    "CallTicket",
    "CalendarYear",
    "CallbackSurvey",
    "Category",
    "ClassificationExample",
    "DispatchRule",
    "DispatchRuleVersion",
    "JobRun",
    "KbAutoAnswer",
    "KbEntry",
    "KbEntryVersion",
    "KbFeedback",
    "KbProposal",
    "MissedCallback",
    "OperatorSeat",
    "OutboxMessage",
    "PlatformCase",
    "PlatformEvent",
    "ServiceItem",
    "SlaAlert",
    "SupervisionOrder",
    "SurveyResponse",
    "SurveySamplingRule",
    "TimeLimitPolicy",
    "ChannelIdentity",
    "Citizen",
    "Message",
    "MessageAttachment",
    "Ticket",
    "TicketAssignment",
    "TicketAttachment",
    "TicketEvent",
    "TicketNumberCounter",
    "TicketReturn",
    "TicketServiceItem",
    "TicketSuggestion",
    "Unit",
    "User",
    "metadata",
]
