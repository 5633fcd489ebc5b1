"""Automatic answers on WeChat and SMS: when the knowledge base's top hit for a new order is confident, the
citizen gets its answer in a follow-up message, with "not what I asked → reply 人工".

The acknowledgement (with the order number) never waits for the search (SPEC section 3): the order is
registered and acknowledged first, and a background job (``answer_new_orders``, run by
``knowledge_base.tasks.auto_answer_job``) decides each new order's answer once, recording it in
``kb_auto_answers`` and queueing the message in the outbox in the same transaction, on the channel the
citizen wrote on. The order stays with the operators: an auto-answer never replaces handling by a person.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.channels.intake import InboundMessage, Receipt
from hotline.channels.models import Channel
from hotline.channels.outbound import notify_citizen
from hotline.config import Settings
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.tickets.lifecycle import Status
from hotline.tickets.models import Ticket
from knowledge_base.live_index import LiveIndex
from knowledge_base.models import AutoAnswerOutcome, KbAutoAnswer
from knowledge_base.richtext import plain_text
from knowledge_base.search import Hit
from knowledge_base.siblings import same_answer
from knowledge_base.text import compact

# Replies asking for a person rather than the knowledge base.
HANDOFF_RE = re.compile(r"人工|真人|客服|话务员|不是我要问|不是我想问|不是我问的|答非所问|没有解决|没解决")
HANDOFF_NOTE = "如不是您要问的，请回复“人工”，话务员将为您处理。"
ANSWERED_CHANNELS = (Channel.SMS, Channel.WECHAT)
# An order older than this is left to the operators: an answer arriving after a long outage would cross
# their call. Orders an operator has already taken up (no longer registered) are left alone too.
ANSWER_WITHIN = timedelta(minutes=30)
BATCH_SIZE = 100
MAX_BATCHES_PER_RUN = 20  # bounds one run; what is left waits for the next one
OUTBOX_KEY = "kb-answer"  # one automatic answer per order, however often the job runs
# The top hit must lead the best hit that says something else by the margin; hits this deep are looked at.
RIVAL_DEPTH = 10
# One answer inside another agrees with it when the shorter is at least this long ("8年" in "由5年延长至8年"
# would not count: a short answer is found inside too many others).
AGREEING_MIN_LENGTH = 4


def wants_person(text: str) -> bool:
    """Whether a citizen's message asks for a person ("人工", "不是我要问的", ...)."""
    return bool(HANDOFF_RE.search(text))


def handoff_reply(ticket_number: str) -> str:
    """What a citizen asking for a person is told."""
    return f"已为您转人工服务，话务员将尽快处理您的工单{ticket_number}，请保持电话畅通。"


def with_handoff(message: InboundMessage, receipt: Receipt, reply: str | None) -> str | None:
    """The channel's reply, turned into the hand-off note when a message on an existing order asks for a person."""
    if reply is None or receipt.ticket_number is None or receipt.survey_reply is not None or receipt.new_ticket:
        return reply
    return handoff_reply(receipt.ticket_number) if wants_person(message.body) else reply


async def confident_hit(index: LiveIndex, settings: Settings, text: str) -> Hit | None:
    """The top hit, if it is confident enough (score, and lead over the best hit with another answer)."""
    hits = await index.search(text, limit=RIVAL_DEPTH)

    def answer_of(hit: Hit) -> str:
        held = index.held(int(hit.entry_id))
        return plain_text(held.answer_html) if held is not None else ""

    return confident(hits, answer_of, settings.kb_auto_answer_min_score, settings.kb_auto_answer_min_margin)


def confident(hits: Sequence[Hit], answer_of: Callable[[Hit], str], min_score: float, min_margin: float) -> Hit | None:
    """The top hit if it scores at least min_score and leads by min_margin every hit whose answer disagrees.

    Entries that give the same answer (cosmetic edits aside, or one answer inside the other) do not make
    the top hit uncertain: a knowledge base files one answer under several questions, and their near-equal
    scores are agreement, not doubt. Only a close hit that says something else is.
    """
    if not hits or hits[0].score < min_score:
        return None
    top = compact(answer_of(hits[0]))
    for hit in hits[1:]:
        if hits[0].score - hit.score >= min_margin:
            break  # hits come best first: the rest lead by less
        if not agree(top, compact(answer_of(hit))):
            return None
    return hits[0]


def agree(first: str, second: str) -> bool:
    """Whether two compacted answers say the same: the same text with cosmetic edits, or one inside the other."""
    if same_answer(first, second):
        return True
    shorter, longer = sorted((first, second), key=len)
    return len(shorter) >= AGREEING_MIN_LENGTH and shorter in longer


def answer_text(index: LiveIndex, settings: Settings, hit: Hit) -> str | None:
    """A hit's answer as plain text, cut at ``kb_auto_answer_max_chars`` with a pointer to the FAQ page; None
    if the index no longer holds the entry."""
    held = index.held(int(hit.entry_id))
    if held is None:
        return None
    answer = plain_text(held.answer_html)
    limit = settings.kb_auto_answer_max_chars
    return answer if len(answer) <= limit else answer[:limit] + "……（详见12345网站“常见问题”）"


def follow_up(ticket_number: str, answer: str) -> str:
    """The message carrying an automatic answer (the acknowledgement already gave the order number)."""
    return f"关于您的问题（工单号 {ticket_number}），参考解答：{answer}\n{HANDOFF_NOTE}"


@dataclass(frozen=True)
class Decision:
    """What one new order is answered with: an entry's answer, or nothing and why."""

    ticket_id: int
    ticket_number: str
    outcome: AutoAnswerOutcome
    entry_id: int | None = None
    score: float | None = None
    answer: str | None = None


async def orders_awaiting_answer(session: AsyncSession, *, since: datetime, limit: int) -> list[Ticket]:
    """New WeChat and SMS orders, still untouched by operators, that have no automatic-answer decision yet."""
    decided = select(col(KbAutoAnswer.ticket_id)).where(col(KbAutoAnswer.ticket_id) == col(Ticket.id)).exists()
    query = (
        select(Ticket)
        .where(
            col(Ticket.created_at) >= since,
            col(Ticket.channel).in_(ANSWERED_CHANNELS),
            col(Ticket.status) == Status.REGISTERED,
            col(Ticket.merged_into_id).is_(None),
            ~decided,
        )
        .order_by(col(Ticket.id))
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def decide(index: LiveIndex, settings: Settings, ticket: Ticket) -> Decision:
    """Search the order's text (its first message) and decide what to answer, if anything."""
    assert ticket.id is not None
    if wants_person(ticket.content):
        return Decision(ticket.id, ticket.number, AutoAnswerOutcome.WANTS_PERSON)
    hit = await confident_hit(index, settings, ticket.content)
    answer = answer_text(index, settings, hit) if hit is not None else None
    if hit is None or answer is None:
        return Decision(ticket.id, ticket.number, AutoAnswerOutcome.NOT_CONFIDENT)
    return Decision(ticket.id, ticket.number, AutoAnswerOutcome.ANSWERED, int(hit.entry_id), hit.score, answer)


async def record(session: AsyncSession, decision: Decision, *, now: datetime) -> AutoAnswerOutcome | None:
    """Store a decision and queue its answer, unless another run decided the order first (then None)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values: dict[str, Any] = {
        "ticket_id": decision.ticket_id,
        "outcome": decision.outcome,
        "entry_id": decision.entry_id,
        "score": decision.score,
        "created_at": now,
    }
    statement = insert(KbAutoAnswer).values(**values).on_conflict_do_nothing().returning(col(KbAutoAnswer.ticket_id))
    if (await session.execute(statement)).scalar_one_or_none() is None:
        return None
    if decision.answer is None:
        return decision.outcome
    body = follow_up(decision.ticket_number, decision.answer)
    if await notify_citizen(session, ticket_id=decision.ticket_id, body=body, key=OUTBOX_KEY):
        return decision.outcome
    await session.execute(
        update(KbAutoAnswer)
        .where(col(KbAutoAnswer.ticket_id) == decision.ticket_id)
        .values(outcome=AutoAnswerOutcome.UNREACHABLE)
    )
    return AutoAnswerOutcome.UNREACHABLE


async def answer_new_orders(
    db: Database, index: LiveIndex, settings: Settings, *, now: datetime | None = None
) -> dict[str, Any]:
    """Decide the automatic answer of every new order that lacks one, a batch per transaction."""
    if not settings.kb_auto_answer:
        return {"orders": 0, "answered": 0}
    now = now or utcnow()
    seen = answered = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        async with db.read_session() as session:
            orders = await orders_awaiting_answer(session, since=now - ANSWER_WITHIN, limit=BATCH_SIZE)
        decisions = []
        for ticket in orders:
            decisions.append(await decide(index, settings, ticket))
            await asyncio.sleep(0)  # a search is milliseconds of CPU: let requests in between
        if decisions:
            async with db.session() as session:
                for decision in decisions:
                    answered += await record(session, decision, now=utcnow()) is AutoAnswerOutcome.ANSWERED
        seen += len(orders)
        if len(orders) < BATCH_SIZE:
            break
    return {"orders": seen, "answered": answered}
