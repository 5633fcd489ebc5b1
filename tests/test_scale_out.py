"""Scaled out on PostgreSQL and Redis: real `hotline serve` and `hotline worker` processes.

Two app instances and two workers share the test database and Redis. A Twilio REST stand-in counts
what reaches the provider and honours the ``Idempotency-Key`` header as a provider should. Every
wait polls observable state (a socket, the stand-in, the database) until a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlmodel import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from websockets.asyncio.client import ClientConnection

from hotline.auth.models import User
from hotline.db import Database
from hotline.outbox import service as outbox
from hotline.outbox.models import OutboxMessage, OutboxStatus
from hotline.tickets.models import Ticket
from tests.channels.conftest import PUBLIC_URL, TWILIO_TOKEN, free_port, sms_form, sms_sid, stand_in, twilio_signature
from tests.conftest import PASSWORD, POSTGRES_URL
from tests.processes import DEADLINE_SECONDS, STARTUP_SECONDS, Processes, eventually

REDIS_URL = os.environ.get("HOTLINE_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(
    not (POSTGRES_URL and REDIS_URL), reason="needs HOTLINE_TEST_DATABASE_URL and HOTLINE_TEST_REDIS_URL"
)

ACCOUNT_SID = "AC" + "0" * 32


@dataclass
class TwilioStandIn:
    """The Messages resource: one delivery per idempotency key, however often it is asked."""

    requests: list[dict[str, str]] = field(default_factory=list)
    delivered: dict[str, str] = field(default_factory=dict)  # idempotency key → message sid
    held: asyncio.Event | None = None  # while set to an unset event, requests are taken but not answered

    def app(self) -> Starlette:
        async def messages(request: Request) -> JSONResponse:
            form = dict(await request.form())
            key = request.headers.get("idempotency-key", "")
            self.requests.append({"key": key, "to": str(form["To"]), "body": str(form["Body"])})
            sid = self.delivered.setdefault(key, f"SM{len(self.delivered):032x}")
            if self.held is not None:
                await self.held.wait()
            return JSONResponse({"sid": sid, "status": "queued"}, status_code=201)

        return Starlette(routes=[Route("/2010-04-01/Accounts/{sid}/Messages.json", messages, methods=["POST"])])


@pytest.fixture
async def provider() -> AsyncIterator[tuple[TwilioStandIn, str]]:
    twilio = TwilioStandIn()
    async with stand_in(twilio.app()) as base:
        yield twilio, base


@contextmanager
def hotline_processes(database_url: str, twilio_base: str, tmp_path: Path) -> Iterator[Processes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(
        HOTLINE_ENVIRONMENT="test",
        HOTLINE_DATABASE_URL=database_url,
        HOTLINE_REDIS_URL=str(REDIS_URL),
        HOTLINE_PUBLIC_URL=PUBLIC_URL,
        HOTLINE_COOKIE_SECURE="false",
        HOTLINE_TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        HOTLINE_TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        HOTLINE_TWILIO_FROM_NUMBER="+8612345000000",
        HOTLINE_TWILIO_API_BASE_URL=twilio_base,
        HOTLINE_OUTBOX_POLL_SECONDS="0.2",
        HOTLINE_SEED_DATA_DIR="/nonexistent",
        HOTLINE_MODEL_DIR=str(tmp_path / "models"),
    )
    processes = Processes(env, tmp_path)
    try:
        yield processes
    finally:
        processes.stop_all()


@asynccontextmanager
async def console(base: str, token: str) -> AsyncIterator[ClientConnection]:
    """An operator's console socket on one instance, past its greeting."""
    url = base.replace("http://", "ws://") + "/ws/console"
    bearer = {"Authorization": f"Bearer {token}"}  # never in the URL, where access logs would keep it
    async with websockets.connect(url, additional_headers=bearer, open_timeout=DEADLINE_SECONDS) as socket:
        hello = json.loads(await asyncio.wait_for(socket.recv(), DEADLINE_SECONDS))
        assert hello["type"] == "hello"
        yield socket


RUN = uuid.uuid4().hex[:8]  # other test runs may share the Redis server, and their order numbers look alike


async def next_received(socket: ClientConnection, numbers: set[str]) -> dict[str, Any]:
    """The next ``message.received`` event of one of these orders, sent by this run."""
    while True:
        event = json.loads(await asyncio.wait_for(socket.recv(), DEADLINE_SECONDS))
        mine = RUN in str(event.get("preview", ""))
        if event.get("type") == "message.received" and event.get("ticket_number") in numbers and mine:
            return dict(event)


async def send_sms(base: str, n: int) -> str:
    """A citizen's SMS to one instance; the order number of its acknowledgement."""
    body = f"小区门口路灯不亮，第{n}盏（{RUN}）"
    form = sms_form(sms_sid(n), body, sender=f"+861390000{n:04d}", AccountSid=ACCOUNT_SID)
    async with httpx.AsyncClient(base_url=base, timeout=DEADLINE_SECONDS) as client:
        response = await client.post(
            "/channels/twilio/sms", data=form, headers={"X-Twilio-Signature": twilio_signature(form)}
        )
    assert response.status_code == 200, response.text
    number = response.text.split("工单号")[1][:13]
    assert number.isdigit()
    return number


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    async with db.read_session() as session:
        query = select(OutboxMessage).where(OutboxMessage.channel == "sms").order_by(OutboxMessage.id)  # type: ignore[arg-type]
        return list((await session.execute(query)).scalars())


async def test_an_sms_to_one_instance_reaches_a_console_on_the_other_and_each_reply_is_sent_once(
    db: Database, staff: dict[str, User], provider: tuple[TwilioStandIn, str], tmp_path: Path
) -> None:
    twilio, twilio_base = provider
    assert POSTGRES_URL is not None
    with hotline_processes(POSTGRES_URL, twilio_base, tmp_path) as processes:
        instance_a, instance_b = await asyncio.gather(
            processes.serving("app-a", free_port()), processes.serving("app-b", free_port())
        )
        processes.start("worker-1", "worker")
        processes.start("worker-2", "worker")
        async with httpx.AsyncClient(base_url=instance_b, timeout=DEADLINE_SECONDS) as api:
            login = await api.post("/api/v1/auth/login", json={"username": "operator1", "password": PASSWORD})
            token = login.json()["access_token"]
            operator = {"Authorization": f"Bearer {token}"}
            async with console(instance_b, token) as socket:
                numbers = {await send_sms(instance_a if n % 2 else instance_b, n): n for n in range(1, 9)}
                seen = [await next_received(socket, set(numbers)) for _ in numbers]
                assert {e["ticket_number"] for e in seen} == set(numbers)  # instance A's orders included
            for event in seen:
                answer = {"answer": f"路灯已修复（{event['ticket_number']}）"}
                response = await api.post(
                    f"/api/v1/tickets/{event['ticket_id']}/answer-directly", json=answer, headers=operator
                )
                assert response.status_code == 200, response.text

        async def all_sent() -> list[OutboxMessage] | None:
            # The replies only: in the survey calling hours, callback surveys follow them by SMS too.
            rows = [r for r in await outbox_rows(db) if r.dedupe_key.startswith("citizen:")]
            return rows if len(rows) == len(numbers) and all(r.status == OutboxStatus.SENT for r in rows) else None

        rows = await eventually(all_sent, "every reply to be sent by the workers")
        replies = [r for r in twilio.requests if "路灯已修复" in r["body"]]
        assert len(replies) == len(numbers)  # two workers polling, yet one request per reply
        async with db.read_session() as session:
            tickets = {t.number: t for t in (await session.execute(select(Ticket))).scalars()}
        for number, n in numbers.items():
            sent = [r for r in replies if number in r["body"]]
            assert [r["to"] for r in sent] == [f"+861390000{n:04d}"]
            assert tickets[number].status == "replied"
        assert {r.provider_message_id for r in rows} <= set(twilio.delivered.values())
        assert len({r.provider_message_id for r in rows}) == len(numbers)


async def test_a_worker_killed_mid_delivery_loses_nothing_and_the_citizen_gets_one_sms(
    db: Database, provider: tuple[TwilioStandIn, str], tmp_path: Path
) -> None:
    twilio, twilio_base = provider
    twilio.held = asyncio.Event()  # the first worker's request reaches the provider, then hangs
    assert POSTGRES_URL is not None
    async with db.session() as session:
        await outbox.enqueue(
            session, dedupe_key="citizen:1:result:3", channel="sms", recipient="+8613900001234", body="您的诉求已办结。"
        )
    with hotline_processes(POSTGRES_URL, twilio_base, tmp_path) as processes:
        processes.start("worker-1", "worker", HOTLINE_OUTBOX_LEASE_SECONDS="3")

        async def reached_provider() -> bool:
            return len(twilio.requests) == 1

        await eventually(reached_provider, "the first worker's request to reach the provider", STARTUP_SECONDS)
        processes.kill("worker-1")  # mid-job: sent, but not yet recorded as sent
        [row] = await outbox_rows(db)
        assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)

        twilio.held.set()
        processes.start("worker-2", "worker", HOTLINE_OUTBOX_LEASE_SECONDS="3")

        async def sent() -> OutboxMessage | None:
            [row] = await outbox_rows(db)
            return row if row.status == OutboxStatus.SENT else None

        row = await eventually(sent, "the second worker to finish the job", STARTUP_SECONDS)
    assert row.attempts == 2
    assert [r["key"] for r in twilio.requests] == [twilio.requests[0]["key"]] * 2  # asked twice, same key
    assert list(twilio.delivered.values()) == [row.provider_message_id]  # delivered once


def listening_sockets(port: int) -> set[str]:
    """The inodes of the TCP sockets listening on this port (IPv4, all processes)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    fields = [row.split() for row in rows]
    return {f[9] for f in fields if f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port}


def server_processes(pid: int) -> set[int]:
    """The server processes under a ``hotline serve --workers N`` (not multiprocessing's resource tracker)."""
    found = set()
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        with contextlib.suppress(FileNotFoundError):  # it may have exited since
            if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes():
                found.add(int(child))
    return found


async def test_two_server_processes_listen_on_a_socket_each_and_a_lost_one_is_replaced(
    db: Database, tmp_path: Path
) -> None:
    """One shared socket let one process take most keep-alive connections; a socket each lets the kernel spread them."""
    assert POSTGRES_URL is not None
    port = free_port()
    with hotline_processes(POSTGRES_URL, "http://127.0.0.1:9", tmp_path) as processes:
        base = await processes.serving("app", port, "--workers", "2")
        supervisor = processes.running["app"].pid
        first = server_processes(supervisor)
        assert len(first) == 2 and len(listening_sockets(port)) == 2
        os.kill(min(first), signal.SIGKILL)

        async def replaced() -> set[int] | None:
            now = server_processes(supervisor)
            return now if len(now) == 2 and now != first and len(listening_sockets(port)) == 2 else None

        await eventually(replaced, "the lost process to be replaced", STARTUP_SECONDS)
        processes.start("second", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2")
        assert processes.running.pop("second").wait(timeout=STARTUP_SECONDS) == 1  # a port in use is refused
        assert "Cannot serve on" in processes.log_of("second")
        assert len(listening_sockets(port)) == 2  # and the server on it keeps its own sockets only
        async with httpx.AsyncClient(base_url=base, timeout=DEADLINE_SECONDS) as client:
            for _ in range(10):  # new connections, whichever process the kernel gives them to
                async with httpx.AsyncClient(base_url=base, timeout=DEADLINE_SECONDS) as fresh:
                    assert (await fresh.get("/healthz")).status_code == 200
            assert (await client.get("/readyz")).status_code == 200
        server = processes.running.pop("app")
        server.terminate()
        assert server.wait(timeout=60) == 0
        assert listening_sockets(port) == set()


async def test_a_hung_server_process_is_killed_and_replaced(db: Database, tmp_path: Path) -> None:
    """A stopped process keeps its socket, and the kernel its share of new connections: it must not stay."""
    assert POSTGRES_URL is not None
    port = free_port()
    with hotline_processes(POSTGRES_URL, "http://127.0.0.1:9", tmp_path) as processes:
        base = await processes.serving("app", port, "--workers", "2", "--worker-timeout", "3")
        supervisor = processes.running["app"].pid

        async def both_started() -> bool:  # each beats from its startup on
            return processes.log_of("app").count("Application startup complete") == 2

        await eventually(both_started, "both processes to start", STARTUP_SECONDS)
        first = server_processes(supervisor)
        hung = min(first)
        os.kill(hung, signal.SIGSTOP)  # alive and listening, answering nothing

        async def replaced() -> set[int] | None:
            now = server_processes(supervisor)
            return now if len(now) == 2 and hung not in now and len(listening_sockets(port)) == 2 else None

        await eventually(replaced, "the hung process to be replaced", STARTUP_SECONDS)
        assert f"Server process [{hung}] hung for 3 s; killing it" in processes.log_of("app")
        for _ in range(10):  # new connections, whichever process the kernel gives them to
            async with httpx.AsyncClient(base_url=base, timeout=DEADLINE_SECONDS) as fresh:
                assert (await fresh.get("/healthz")).status_code == 200
