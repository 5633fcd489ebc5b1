"""Automatic answers on WeChat and SMS: when the knowledge base's top hit is confident, the acknowledgement
carries its answer, with "not what I asked → reply 人工". The message is registered as an order before any of
this runs, and the order stays with the operators: an auto-answer never replaces handling by a person.
"""

from __future__ import annotations

import asyncio
import logging
import re

from fastapi import FastAPI

from hotline.channels.intake import InboundMessage, Receipt
from hotline.config import Settings
from knowledge_base.deps import live_index_of
from knowledge_base.live_index import LiveIndex
from knowledge_base.richtext import plain_text

log = logging.getLogger(__name__)

# Replies asking for a person rather than the knowledge base.
HANDOFF_RE = re.compile(r"人工|真人|客服|话务员|不是我要问|不是我想问|不是我问的|答非所问|没有解决|没解决")
HANDOFF_NOTE = "如不是您要问的，请回复“人工”，话务员将为您处理。"
_building: set[asyncio.Task[None]] = set()


def wants_person(text: str) -> bool:
    """Whether a citizen's message asks for a person ("人工", "不是我要问的", ...)."""
    return bool(HANDOFF_RE.search(text))


def handoff_reply(ticket_number: str) -> str:
    """What a citizen asking for a person is told."""
    return f"已为您转人工服务，话务员将尽快处理您的工单{ticket_number}，请保持电话畅通。"


async def suggested_answer(index: LiveIndex, settings: Settings, text: str) -> str | None:
    """The top entry's answer as plain text, if it is confident enough (score and lead over the second)."""
    hits = await index.search(text, limit=2)
    if not hits or hits[0].score < settings.kb_auto_answer_min_score:
        return None
    if len(hits) > 1 and hits[0].score - hits[1].score < settings.kb_auto_answer_min_margin:
        return None
    held = index.held(int(hits[0].entry_id))
    if held is None:
        return None
    answer = plain_text(held.answer_html)
    limit = settings.kb_auto_answer_max_chars
    return answer if len(answer) <= limit else answer[:limit] + "……（详见12345网站“常见问题”）"


async def with_auto_answer(app: FastAPI, message: InboundMessage, receipt: Receipt, reply: str | None) -> str | None:
    """The channel's reply, extended with a confident answer or turned into a hand-off note; never raises."""
    settings: Settings = app.state.settings
    if reply is None or receipt.ticket_number is None or receipt.survey_reply is not None:
        return reply
    try:
        if wants_person(message.body):
            return handoff_reply(receipt.ticket_number) if not receipt.new_ticket else reply
        if not settings.kb_auto_answer or not (receipt.new_ticket or receipt.duplicate):
            return reply
        index = live_index_of(app)
        if not index.ready:  # never make the citizen wait for the first build: start it, answer next time
            task = asyncio.create_task(index.catch_up())
            _building.add(task)
            task.add_done_callback(_building.discard)
            return reply
        answer = await suggested_answer(index, settings, message.body)
    except Exception:  # the message is registered already; an answer is a bonus, never a reason to fail
        log.exception("auto-answer failed for message %s", receipt.message_id)
        return reply
    return f"{reply}\n关于您的问题，参考解答：{answer}\n{HANDOFF_NOTE}" if answer else reply
