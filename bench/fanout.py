"""Console fan-out: 1,000 operator consoles on /ws/console, one event to all of them, and the app's memory.

    .venv/bin/python -m bench.fanout [--consoles 1000] [--events 20] [--pg-url URL] [--redis-url URL]

Two layouts on PostgreSQL (the database in ``--pg-url``, reset first): one ``hotline serve`` with the
in-process bus, consoles and the SMS on the same instance; then instances A and B sharing Redis, all
consoles on B and the SMS to A. Each event is a real Twilio-signed SMS webhook registering an order;
its latency runs from sending the webhook to a console receiving ``message.received`` (so it includes
the intake's own transaction, whose response time is shown beside it). The memory is the resident set
(VmRSS) of the instance holding the consoles, before and with them connected. The client (this
process, on uvloop) shares the machine's cores with the servers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
import uvloop
import websockets
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import ClientConnection

from bench.intake import DEFAULT_PG, DEFAULT_REDIS, ROOT, TOKEN, free_port, migrate, reset_postgres, server
from bench.report import write_section
from hotline.auth.models import Role, User
from hotline.auth.passwords import hash_password
from hotline.db import Database

PASSWORD = "Bench-Passw0rd!"
CONNECT_BATCH = 50  # consoles opening their sockets at once
DELIVERY_DEADLINE_SECONDS = 30.0


@dataclass
class Scenario:
    name: str
    consoles: int
    latencies_ms: list[float] = field(default_factory=list)
    intake_ms: list[float] = field(default_factory=list)
    missing: int = 0
    rss_before_mb: float = 0.0
    rss_with_consoles_mb: float = 0.0
    load: float = 0.0
    cpu_ms_per_event: float = 0.0  # the consoles' instance's CPU time per event: the fan-out's cost on a quiet core


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """The resident set of a process and its children (uvicorn runs the app in the process itself)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def add_operator(url: str) -> None:
    db = Database(url)
    try:
        async with db.session() as session:
            password = hash_password(PASSWORD)
            session.add(
                User(username="bench_operator", display_name="压测坐席", password_hash=password, role=Role.OPERATOR)
            )
    finally:
        await db.dispose()


class Consoles:
    """Many console sockets in this process, each noting when it received each marked event."""

    def __init__(self) -> None:
        self.sockets: list[ClientConnection] = []
        self.received: dict[str, list[float]] = {}
        self._readers: list[asyncio.Task[None]] = []

    async def open(self, base: str, token: str, count: int) -> None:
        url = base.replace("http://", "ws://") + "/ws/console"
        while len(self.sockets) < count:
            batch = min(CONNECT_BATCH, count - len(self.sockets))
            self.sockets += await asyncio.gather(*(self._connect(url, token) for _ in range(batch)))
        self._readers = [asyncio.create_task(self._read(s)) for s in self.sockets]

    async def _connect(self, url: str, token: str) -> ClientConnection:
        socket = await websockets.connect(
            url,
            additional_headers={"Authorization": f"Bearer {token}"},
            open_timeout=60,
            max_queue=None,
            ping_interval=None,
        )
        hello = json.loads(await socket.recv())
        assert hello["type"] == "hello", hello
        return socket

    async def _read(self, socket: ClientConnection) -> None:
        async for raw in socket:
            if '"message.received"' in raw:
                preview = json.loads(raw).get("preview", "")
                marker = preview.rpartition("#")[2]
                self.received.setdefault(marker, []).append(time.monotonic())

    async def close(self) -> None:
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*(s.close() for s in self.sockets), return_exceptions=True)


def signed_sms(public: str, n: int, marker: str) -> tuple[bytes, str]:
    form = {
        "MessageSid": f"SM{7 * 10**9 + n:032x}",
        "AccountSid": "AC" + "0" * 32,
        "From": f"+86137{n % 10**8:08d}",
        "To": "+8612345000000",
        "Body": f"井盖破损，请尽快处理 #{marker}",
        "NumMedia": "0",
    }
    return urlencode(form).encode(), RequestValidator(TOKEN).compute_signature(public, form)


async def measure(
    scenario: Scenario, sender: str, public: str, holder: str, events: int, offset: int, holder_pid: int
) -> None:
    """Log in on the consoles' instance, connect them, then send one SMS at a time and time its fan-out."""
    async with httpx.AsyncClient(timeout=60) as http:
        login = await http.post(
            holder + "/api/v1/auth/login", json={"username": "bench_operator", "password": PASSWORD}
        )
        token = login.json()["access_token"]
        consoles = Consoles()
        await consoles.open(holder, token, scenario.consoles)
        await asyncio.sleep(1)
        scenario.rss_with_consoles_mb = rss_mb(holder_pid)
        cpu_before = cpu_seconds(holder_pid)
        try:
            for n in range(events):
                marker = f"{offset + n}"
                body, signature = signed_sms(public, offset + n, marker)
                headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
                sent = time.monotonic()
                response = await http.post(sender + "/channels/twilio/sms", content=body, headers=headers)
                scenario.intake_ms.append((time.monotonic() - sent) * 1000)
                assert response.status_code == 200, response.text
                deadline = sent + DELIVERY_DEADLINE_SECONDS
                while len(consoles.received.get(marker, [])) < scenario.consoles and time.monotonic() < deadline:
                    await asyncio.sleep(0.005)
                arrivals = consoles.received.get(marker, [])
                scenario.missing += scenario.consoles - len(arrivals)
                scenario.latencies_ms += [(t - sent) * 1000 for t in arrivals]
                await asyncio.sleep(0.2)  # let the sockets settle between events
            scenario.cpu_ms_per_event = (cpu_seconds(holder_pid) - cpu_before) * 1000 / events
        finally:
            await consoles.close()


def environment(pg_url: str, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(HOTLINE_DATABASE_URL=pg_url, HOTLINE_TWILIO_AUTH_TOKEN=TOKEN, HOTLINE_RUN_JOBS="false")
    env.update(HOTLINE_COOKIE_SECURE="false", HOTLINE_SMTP_ENABLED="false")
    if redis_url:
        env["HOTLINE_REDIS_URL"] = redis_url
    return env


@contextmanager
def instance(env: dict[str, str], public_port: int, tmp: Path, name: str) -> Iterator[tuple[str, int]]:
    """One ``hotline serve`` whose public URL is ``public_port``'s (the SMS signatures name it)."""
    port = free_port()
    command = [str(ROOT / ".venv/bin/hotline"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with server(command, {**env, "HOTLINE_PUBLIC_URL": f"http://127.0.0.1:{public_port}"}, port, tmp / name) as base:
        yield base, _pid_on(port)


def _pid_on(port: int) -> int:
    """The pid of the process listening on a local port (from /proc/net/tcp and the fd links)."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[3] == "0A" and int(parts[1].split(":")[1], 16) == port:
            inode = parts[9]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) == f"socket:[{inode}]":
                    return int(proc.name)
        except OSError:
            continue
    raise RuntimeError(f"no process listens on {port}")


def run_single(args: argparse.Namespace, tmp: Path) -> Scenario:
    scenario = Scenario("one instance, in-process bus", args.consoles, load=os.getloadavg()[0])
    env = environment(args.pg_url, None)
    port = free_port()
    with instance(env, port, tmp, "single.log") as (base, pid):
        public = f"http://127.0.0.1:{port}/channels/twilio/sms"
        asyncio.run(warm_up(base, public))
        scenario.rss_before_mb = rss_mb(pid)
        asyncio.run(measure(scenario, base, public, base, args.events, 0, pid))
    return scenario


async def warm_up(base: str, public: str) -> None:
    body, signature = signed_sms(public, 10**6, "warm")
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    async with httpx.AsyncClient(timeout=60) as http:
        await http.post(base + "/channels/twilio/sms", content=body, headers=headers)


def run_pair(args: argparse.Namespace, tmp: Path) -> Scenario:
    scenario = Scenario("instances A and B through Redis", args.consoles, load=os.getloadavg()[0])
    env = environment(args.pg_url, args.redis_url)
    port_a = free_port()
    with ExitStack() as stack:
        base_a, _ = stack.enter_context(instance(env, port_a, tmp, "a.log"))
        base_b, pid_b = stack.enter_context(instance(env, port_a, tmp, "b.log"))
        public = f"http://127.0.0.1:{port_a}/channels/twilio/sms"
        asyncio.run(warm_up(base_a, public))
        scenario.rss_before_mb = rss_mb(pid_b)
        asyncio.run(measure(scenario, base_a, public, base_b, args.events, 1000, pid_b))
    return scenario


def report(scenarios: list[Scenario], command: str, events: int) -> str:
    rows = [
        f"| {s.name} | {s.consoles} | {events} | {s.missing} | {percentile(s.latencies_ms, 50):.0f} | "
        f"{percentile(s.latencies_ms, 99):.0f} | {max(s.latencies_ms, default=float('nan')):.0f} | "
        f"{percentile(s.intake_ms, 50):.0f} | {s.cpu_ms_per_event:.0f} | {s.rss_before_mb:.0f} | "
        f"{s.rss_with_consoles_mb:.0f} | {s.load:.1f} |"
        for s in scenarios
    ]
    return "\n".join(
        [
            "## Console fan-out and memory (/ws/console)",
            "",
            f"`{command}` — operator consoles connected to `/ws/console`; {events} SMS webhooks, one at a "
            "time, each registering an order whose `message.received` event goes to every console. Latency: "
            "from sending the webhook to each console receiving the event (includes the intake transaction; "
            "its own response time is the `intake p50` column). Server CPU per event: the CPU time the "
            "consoles' instance used per event (intake included where it takes the SMS itself), roughly the "
            "fan-out's latency on a quiet core. RSS: the resident memory of the instance "
            "holding the consoles, after one request and then with every console connected. One Python "
            "client process (uvloop) holds all sockets and shares the 2 cores with the servers; `load` is the "
            "1-minute load average before the run.",
            "",
            "| layout | consoles | events | missed deliveries | p50 ms | p99 ms | max ms | intake p50 ms "
            "| server CPU ms per event | RSS before MB | RSS with consoles MB | load |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "Goals: p99 < 250 ms to 1,000 consoles; RSS < 500 MB with 1,000 consoles.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--consoles", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    args = parser.parse_args()
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    tmp = Path(tempfile.mkdtemp(prefix="hotline-bench-fanout-"))
    asyncio.run(reset_postgres(args.pg_url))
    migrate(args.pg_url)
    asyncio.run(add_operator(args.pg_url))
    scenarios = [run_single(args, tmp), run_pair(args, tmp)]
    command = ".venv/bin/python -m bench.fanout " + " ".join(sys.argv[1:])
    section = report(scenarios, command.strip(), args.events)
    print(section)
    if not args.no_write:
        write_section("fanout", section)


if __name__ == "__main__":
    main()
