"""Messages that arrive while the database is unreachable: kept on local disk, stored once it is back.

Twilio does not send an SMS webhook again after a failed answer, and WeChat gives up after three tries
within 15 seconds, so a database restart or failover would lose what citizens write in the meantime.
Instead, an authenticated SMS or WeChat message that cannot be stored is written to the spool (one
file each, written whole or not at all), the citizen is told that the order number follows, and a
background task of every process stores the spooled messages through the intake as soon as the
database answers: with the time they arrived, so their orders' time limits run from then, and with
the order number sent by the outbox. The intake is idempotent, so a message spooled by one process and
replayed by two, or sent again by the channel after the database is back, still makes one order.

Other webhooks that must not be lost (Twilio's voice callbacks: a call's end, a voicemail) use the same
spool with kinds of their own; the process replays each kind with the replayer it was given.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.channels import intake, twilio_sms, wechat
from hotline.channels.intake import InboundMessage, Receipt
from hotline.channels.models import Channel, Message
from hotline.config import Settings
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.errors import DomainError
from hotline.outage import is_outage
from hotline.outbox.service import enqueue

log = logging.getLogger(__name__)

SMS, WECHAT = "sms", "wechat"
# Told at once to a citizen whose message was spooled: the order number follows when it is stored.
SPOOLED_REPLY = "您的诉求已收到，系统正在处理，工单号稍后发送给您。"
FAILED_DIRECTORY = "failed"  # spooled messages the intake refused: kept for an administrator, never retried


@dataclass(frozen=True)
class Spooled:
    """One message in the spool: the channel's authenticated fields, as the adapter received them."""

    kind: str
    fields: Any
    received_at: datetime

    def message(self) -> InboundMessage | None:
        """The inbound message, dated when it arrived rather than when it is replayed."""
        if self.kind == SMS:
            message: InboundMessage | None = twilio_sms.to_inbound([tuple(pair) for pair in self.fields])
        elif self.kind == WECHAT:
            message = wechat.to_inbound(self.fields)
        else:
            raise ValueError(f"unknown spooled kind {self.kind!r}")
        return None if message is None else replace(message, received_at=self.received_at)


class Spool:
    """A directory of spooled messages, oldest first; a message is one JSON file, renamed into place whole."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, kind: str, fields: Any, received_at: datetime) -> Path:
        """Keep a message durably (written, flushed to disk, then renamed into place)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{received_at:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex}.json"
        record = {"kind": kind, "fields": fields, "received_at": received_at.isoformat()}
        partial = self.directory / f".{name}.part"
        with partial.open("w", encoding="utf-8") as file:
            json.dump(record, file, ensure_ascii=False)
            file.flush()
            os.fsync(file.fileno())
        target = self.directory / name
        os.replace(partial, target)
        descriptor = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)  # the rename itself survives a crash
        finally:
            os.close(descriptor)
        return target

    def pending(self) -> list[Path]:
        """The spooled messages, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(path for path in self.directory.glob("*.json") if path.is_file())

    def set_aside_count(self) -> int:
        """How many spooled items were set aside for an administrator (see ``set_aside``)."""
        failed = self.directory / FAILED_DIRECTORY
        return sum(1 for path in failed.glob("*.json") if path.is_file()) if failed.is_dir() else 0

    @staticmethod
    def read(path: Path) -> Spooled:
        record = json.loads(path.read_text(encoding="utf-8"))
        return Spooled(record["kind"], record["fields"], datetime.fromisoformat(record["received_at"]))

    def set_aside(self, path: Path) -> None:
        """Move a message the intake refused out of the way, for an administrator to look at."""
        failed = self.directory / FAILED_DIRECTORY
        failed.mkdir(exist_ok=True)
        with contextlib.suppress(FileNotFoundError):  # another process stored it meanwhile
            os.replace(path, failed / path.name)

    @staticmethod
    def done(path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):  # another process stored it meanwhile
            path.unlink()


async def first_message_of(session: AsyncSession, ticket_id: int) -> int | None:
    """The id of the message that opened an order (its earliest)."""
    found = await session.scalar(select(func.min(Message.id)).where(col(Message.ticket_id) == ticket_id))
    return int(found) if found is not None else None


def spool_of(settings: Settings) -> Spool:
    return Spool(settings.spool_dir)


async def acknowledge(session: AsyncSession, message: InboundMessage, receipt: Receipt, settings: Settings) -> None:
    """The reply a stored message would have had at once, now sent through the outbox.

    A spooled SMS already stored is one whose first storing committed while the answer to Twilio was lost
    (the connection broke on the commit): its citizen was told the order number follows, so it still does,
    once (the outbox's key). A WeChat message stored already was a retry WeChat sent, answered at the time.
    """
    if message.sender is None:
        return
    if message.channel == Channel.WECHAT:
        if receipt.duplicate:
            return
        channel, text = WECHAT, wechat.reply_text(settings, message, receipt)
    else:
        if receipt.duplicate and receipt.ticket_id is not None:
            opened = await first_message_of(session, receipt.ticket_id) == receipt.message_id
            receipt = replace(receipt, duplicate=False, new_ticket=opened)
        channel, text = SMS, twilio_sms.acknowledgement(receipt)
    if text is None:
        return
    await enqueue(
        session,
        dedupe_key=f"{channel}:ack:{receipt.message_id}",
        channel=channel,
        recipient=message.sender.value,
        body=text,
        ticket_id=receipt.ticket_id,
    )


async def receive_or_spool(
    db: Database, settings: Settings, message: InboundMessage, *, kind: str, fields: Any
) -> Receipt | None:
    """Store a message through the intake; if the database cannot be reached, spool it and return None."""
    try:
        async with db.session() as session:
            return await intake.receive(session, message, attach_window=intake.attach_window(settings))
    except Exception as exc:
        if not is_outage(exc):
            raise
    path = spool_of(settings).put(kind, fields, message.received_at or utcnow())
    log.warning("the database is unreachable: %s message %s spooled as %s", kind, message.external_id, path.name)
    return None


async def store_message(db: Database, settings: Settings, item: Spooled) -> None:
    """Replay a spooled SMS or WeChat message through the intake, and send the reply it would have had."""
    message = item.message()
    if message is None:
        return
    async with db.session() as session:
        receipt = await intake.receive(session, message, attach_window=intake.attach_window(settings))
        await acknowledge(session, message, receipt, settings)


Replayer = Callable[[Database, Settings, Spooled], Awaitable[None]]
MESSAGE_REPLAYERS: Mapping[str, Replayer] = {SMS: store_message, WECHAT: store_message}


async def replay(
    db: Database, settings: Settings, spool: Spool, replayers: Mapping[str, Replayer] = MESSAGE_REPLAYERS
) -> int:
    """Replay the spooled items, oldest first; stop at the first sign that the database is still away.

    An item that cannot be read, is of no known kind, or fails for any reason other than an outage is set
    aside (and logged), so that it never holds up the items behind it. Returns how many were stored.
    """
    stored = 0
    for path in spool.pending():
        try:
            item = spool.read(path)
        except FileNotFoundError:
            continue  # another process stored it meanwhile
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("spooled item %s cannot be read (%s); set aside", path.name, exc)
            spool.set_aside(path)
            continue
        replayer = replayers.get(item.kind)
        if replayer is None:
            log.error("spooled item %s is of no known kind (%r); set aside", path.name, item.kind)
            spool.set_aside(path)
            continue
        try:
            await replayer(db, settings, item)
        except DomainError as exc:
            log.error("spooled item %s refused (%s); set aside", path.name, exc)
            spool.set_aside(path)
            continue
        except Exception as exc:
            if is_outage(exc):
                return stored
            log.exception("spooled item %s failed; set aside", path.name)
            spool.set_aside(path)
            continue
        spool.done(path)
        stored += 1
    if stored:
        log.warning("stored %d items spooled while the database was unreachable", stored)
    return stored


async def keep_replaying(
    db: Database, settings: Settings, spool: Spool, replayers: Mapping[str, Replayer] = MESSAGE_REPLAYERS
) -> None:
    """The process's background task: replay spooled items whenever there are some and the database answers."""
    while True:
        await asyncio.sleep(settings.spool_replay_seconds)
        if not spool.pending():
            continue
        try:
            await replay(db, settings, spool, replayers)
        except Exception:
            log.exception("replaying the spool failed; trying again later")
