"""Survey answers arriving as ordinary SMS or WeChat messages, taken before intake would open an order.

The intake calls ``take_message`` once the message is stored and its citizen known (and locked).
A citizen with a survey that was sent and still takes answers is answering it, whatever they
write: free text goes to a supervisor. Shortly after a survey ended, a message that reads as an
answer (digits, 满意…) is kept on the surveyed order as a second or late answer, not recorded and
never a new order; anything else goes through intake as usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.channels.models import Channel
from hotline.surveys import questions, repository, service
from hotline.surveys.models import CallbackSurvey, ResponseOutcome, SurveyStatus
from hotline.surveys.parsing import parse_answer
from hotline.tickets.models import Ticket

ANSWER_CHANNELS = frozenset({Channel.SMS, Channel.WECHAT})
LATE_ANSWER_WINDOW = timedelta(hours=72)  # how long after a survey ended an answer still finds its order


@dataclass(frozen=True)
class SurveyReceipt:
    """The order the answer belongs to, and what the citizen is told."""

    ticket_id: int
    ticket_number: str
    reply: str


async def take_message(
    session: AsyncSession, *, channel: str, citizen_id: int, message_id: int, body: str, now: datetime
) -> SurveyReceipt | None:
    """Take a message as a survey answer, or None to let intake handle it."""
    if channel not in ANSWER_CHANNELS:
        return None
    survey = await repository.open_survey_of_citizen(session, citizen_id=citizen_id)
    if survey is not None:
        taken = await service.take_text_answer(session, survey=survey, text=body, via=channel, now=now)
        return await _kept(session, survey, channel, message_id, body, taken, now)
    ended = await repository.recently_ended_survey(session, citizen_id=citizen_id, since=now - LATE_ANSWER_WINDOW)
    if ended is None:
        return None
    parsed = parse_answer(body)
    if not (parsed.answers_something or parsed.invalid_digits):
        return None  # words about something else: a new matter for intake
    if ended.status == SurveyStatus.ANSWERED:
        taken = service.Taken(ResponseOutcome.DUPLICATE, questions.ALREADY_ANSWERED, parsed)
    else:
        taken = service.Taken(ResponseOutcome.LATE, questions.SURVEY_ENDED, parsed)
    return await _kept(session, ended, channel, message_id, body, taken, now)


async def _kept(
    session: AsyncSession,
    survey: CallbackSurvey,
    channel: str,
    message_id: int,
    body: str,
    taken: service.Taken,
    now: datetime,
) -> SurveyReceipt:
    await service.keep_response(
        session, survey=survey, channel=channel, text=body, taken=taken, now=now, message_id=message_id
    )
    ticket = await session.get(Ticket, survey.ticket_id)
    assert ticket is not None and ticket.id is not None
    return SurveyReceipt(ticket.id, ticket.number, taken.reply)


async def reply_to_repeat(session: AsyncSession, *, message_id: int) -> str | None:
    """What a message that became a survey answer was answered with (for a webhook's retry)."""
    response = await repository.response_to_message(session, message_id=message_id)
    return response.reply if response else None
