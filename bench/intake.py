"""SMS-webhook intake throughput and latency against ``hotline serve``, beside a bare one-insert endpoint.

    .venv/bin/python -m bench.intake [--seconds 20] [--concurrency 50] [--workers 1] [--pg-url URL | --no-pg]

For SQLite (a fresh file) and PostgreSQL (the database in ``--pg-url``, reset first) it starts
``hotline serve`` and a bare FastAPI endpoint doing one insert through the same driver
(``bench/intake_bare.py``), drives Twilio-signed SMS webhooks at them from distinct senders (each
message registers a new order: citizen, identity, order, event, message), and writes throughput and
latency percentiles into docs/PERFORMANCE.md. Client and servers share the machine's cores, so the
client is ``wrk`` (Debian package ``wrk``; C, one thread) fed with bodies signed before timing
(``bench/wrk_intake.lua``); without wrk, a Python client (``--client python``) does the same.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

from bench import intake_bare, profile
from bench.report import write_section
from hotline.db import create_engine

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-twilio-auth-token"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/bench_scale"
DEFAULT_REDIS = "redis://127.0.0.1:6379/6"
WARMUP = 100
MAX_RATE = 2500  # requests/s the signed bodies are prepared for (wrk runs for a time, not a count)
TIME_LIMIT_SECONDS = 300.0  # each run stops by itself, whatever the count


@dataclass(frozen=True)
class Result:
    database: str
    target: str
    sent: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    wrk: tuple[float, float, float] | None = None  # p50, p99, max as wrk measured them
    workers: int = 1
    load: float = 0.0  # 1-minute load average before the run
    cpu_ms: float = float("nan")  # the server processes' CPU time per request

    @property
    def throughput(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if self.wrk is not None:
            return {50: self.wrk[0], 99: self.wrk[1], 100: self.wrk[2]}[int(p)]
        if p >= 100:
            return max(self.latencies_ms, default=float("nan"))
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_cpu_seconds(root: int) -> float:
    """CPU time (user + system) used so far by a process and its descendants (uvicorn's worker processes)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier += children
    return sum(times.get(pid, 0.0) for pid in tree)


PROFILES: dict[str, tuple[list[tuple[str, float]], list[tuple[str, float]]]] = {}  # database → summary
SERVER_PIDS: dict[str, int] = {}  # base URL → pid of the server process started for it


@contextlib.contextmanager
def server(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    """Start a server process and yield its base URL once /healthz answers; stop it afterwards."""
    with log.open("w") as out:
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        base = f"http://127.0.0.1:{port}"
        SERVER_PIDS[base] = process.pid
        try:
            for _ in range(240):
                if process.poll() is not None:
                    raise RuntimeError(f"{command[0]} exited {process.returncode}; see {log}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                time.sleep(0.25)
            else:
                raise RuntimeError(f"{command} never became healthy; see {log}")
            yield base
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


PROFILED_OFFSET = 2 * 10**9  # message ids and senders of the profiled run, apart from the measured ones


def signed_requests(url: str, count: int, offset: int) -> list[tuple[bytes, str]]:
    """Twilio-signed form bodies, each from its own sender (so each registers a new order)."""
    validator = RequestValidator(TOKEN)
    bodies = []
    for i in range(offset, offset + count):
        form = {
            "MessageSid": f"SM{i:032x}",
            "AccountSid": "AC" + "0" * 32,
            "From": f"+86{139 - i // 10**9}{i % 10**8:08d}",  # warm-up (10**9) and profiled run: their own senders
            "To": "+8612345000000",
            "Body": f"小区路灯不亮，编号{i}",
            "NumMedia": "0",
        }
        bodies.append((urlencode(form).encode(), validator.compute_signature(url, form)))
    return bodies


async def drive(url: str, bodies: list[tuple[bytes, str]], concurrency: int) -> tuple[int, float, list[float]]:
    """Send every body with ``concurrency`` requests in flight; errors, wall seconds, latencies."""
    queue = list(reversed(bodies))
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + TIME_LIMIT_SECONDS
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while queue and time.monotonic() < deadline:
            body, signature = queue.pop()
            headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
            started = time.perf_counter()
            try:
                response = await client.post(url, content=body, headers=headers)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - started) * 1000)
            errors += not ok

    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return errors, time.perf_counter() - started, latencies


WRK_SCRIPT = Path(__file__).with_name("wrk_intake.lua")
WRK_WARMUP_SECONDS = 3


def drive_wrk(url: str, bodies: list[tuple[bytes, str]], concurrency: int, seconds: float, tmp: Path) -> Result:
    """Run wrk (one thread, ``concurrency`` connections) for ``seconds`` over pre-signed bodies."""
    feed = tmp / "bodies.tsv"
    feed.write_text("".join(f"{sig}\t{body.decode()}\n" for body, sig in bodies))
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:.0f}s", "--timeout", "30s", "-s", str(WRK_SCRIPT)]
    output = subprocess.run([*command, url, "--", str(feed)], capture_output=True, text=True, check=True).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    return Result(
        "",
        "",
        figures["requests"],
        figures["status_errors"] + figures["socket_errors"],
        figures["seconds"],
        [],
        wrk=(figures["p50_ms"], figures["p99_ms"], figures["max_ms"]),
    )


def run(database: str, url: str, target: str, args: argparse.Namespace, tmp: Path, workers: int) -> Result:
    port = free_port()
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": url,
        "BENCH_DATABASE_URL": url,
        "HOTLINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "HOTLINE_TWILIO_AUTH_TOKEN": TOKEN,
        "HOTLINE_SMTP_PORT": str(free_port()),
        "HOTLINE_ACCESS_LOG": "false",  # as deployed: nginx keeps the access log (docs/DEPLOY.md)
    }
    if database != "SQLite":  # the scaled-out layout: app processes take requests, `hotline worker`s the jobs
        env["HOTLINE_RUN_JOBS"] = "false"
    if workers > 1:
        env["HOTLINE_REDIS_URL"] = args.redis_url
    load = os.getloadavg()[0]
    if target == "hotline serve":
        command = [str(ROOT / ".venv/bin/hotline"), "serve", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--workers", str(workers)]
        path = "/channels/twilio/sms"
    else:
        # Served as `hotline serve` serves the product: the same processes, a listening socket each.
        command = [sys.executable, "-m", "bench.intake_bare", "--port", str(port), "--workers", str(workers)]
        path = "/bare/sms"
        asyncio.run(intake_bare.prepare(url))
    log = tmp / f"{database}-{target.replace(' ', '_')}.log"
    with server(command, env, port, log) as base:
        public = f"http://127.0.0.1:{port}{path}"
        if args.client == "wrk":
            expected = int(args.seconds * MAX_RATE)
            drive_wrk(
                base + path, signed_requests(public, WRK_WARMUP_SECONDS * MAX_RATE, 10**9), 50, WRK_WARMUP_SECONDS, tmp
            )
            bodies = signed_requests(public, expected, 0)
            cpu_before = tree_cpu_seconds(SERVER_PIDS[base])
            result = drive_wrk(base + path, bodies, args.concurrency, args.seconds, tmp)
            cpu_ms = (tree_cpu_seconds(SERVER_PIDS[base]) - cpu_before) * 1000 / max(result.sent, 1)
            if args.profile and target == "hotline serve" and database != "SQLite":
                # A run of its own after the measured one: the sampler's CPU would come off the same two cores.
                profiled = signed_requests(public, expected, PROFILED_OFFSET)
                with profile.sampling(SERVER_PIDS[base], args.seconds, tmp / "profile.txt"):
                    drive_wrk(base + path, profiled, args.concurrency, args.seconds, tmp)
                PROFILES[database] = profile.summary(tmp / "profile.txt")
            if result.sent > expected:
                raise RuntimeError(f"more than {expected} requests: raise MAX_RATE so that no body is sent twice")
            return Result(
                database, target, result.sent, result.errors, result.seconds, [], result.wrk, workers, load, cpu_ms
            )
        asyncio.run(drive(base + path, signed_requests(public, WARMUP, 10**9), args.concurrency))
        bodies = signed_requests(public, args.requests, 0)
        errors, seconds, latencies = asyncio.run(drive(base + path, bodies, args.concurrency))
    return Result(database, target, len(latencies), errors, seconds, latencies, None, workers, load)


async def reset_postgres(url: str) -> str:
    """Start the benchmark's database afresh (created if this server has none yet); its server version."""
    name = make_url(url).database
    maintenance = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    admin = create_engine(maintenance, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
        version = str((await connection.execute(text("SHOW server_version"))).scalar_one()).split()[0]
    await admin.dispose()
    return version


def migrate(url: str) -> None:
    env = {**os.environ, "HOTLINE_DATABASE_URL": url}
    subprocess.run([str(ROOT / ".venv/bin/hotline"), "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)


def report(results: list[Result], command: str, args: argparse.Namespace) -> str:
    rows = [
        f"| {r.database} | {r.target} | {r.workers} | {r.sent} | {r.errors} | {r.throughput:.0f} | "
        f"{r.percentile(50):.1f} | {r.percentile(99):.1f} | {r.percentile(100):.1f} | {r.cpu_ms:.1f} | {r.load:.1f} |"
        for r in results
    ]
    ratios = []
    for database in dict.fromkeys(r.database for r in results):
        pair = {r.target: r for r in results if r.database == database}
        if len(pair) == 2:
            share = pair["hotline serve"].throughput / pair["bare FastAPI insert"].throughput
            ratios.append(f"{database}: the full intake runs at {share:.0%} of the bare insert's throughput")
    if args.client == "wrk":
        client = (
            f"Client: `wrk -t1 -c{args.concurrency} -d{args.seconds}s` (one C thread) replaying bodies signed "
            f"before timing (`bench/wrk_intake.lua`), after a {WRK_WARMUP_SECONDS} s warm-up"
        )
    else:
        client = f"Client: an httpx script ({args.requests} requests per run, after {WARMUP} warm-up requests)"
    return "\n".join(
        [
            "## SMS-webhook intake (POST /channels/twilio/sms)",
            "",
            f"`{command}` — Twilio-signed SMS webhooks from distinct senders, {args.concurrency} in flight. "
            "Every intake request checks the signature, stores the message idempotently, creates the "
            "citizen and identity, registers an order with its event, and answers TwiML with the order "
            "number. The baseline is a bare FastAPI endpoint parsing the same form and doing one insert "
            "through the same driver (`bench/intake_bare.py`), measured in the same run with the same number "
            "of uvicorn processes, each listening on a socket of its own (`hotline/serving.py`), both without "
            f"uvicorn's per-request access log (as deployed behind nginx, "
            f"which keeps it). {client}; it shares the machine's cores with the server. "
            "`server CPU ms/request`: CPU time of the server's processes during the run divided by the requests "
            "(PostgreSQL's own CPU not included); it depends little on how busy the machine is: one quiet core "
            "serves about 1000 / that many requests per second. "
            "`load` is the 1-minute load average just before each run (other work on the machine included).",
            "",
            "| database | endpoint | processes | requests | errors | requests/s | p50 ms | p99 ms | max ms "
            "| server CPU ms/request | load |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            *(f"- {line}" for line in ratios),
            *profile_lines(),
        ]
    )


def profile_lines() -> list[str]:
    """Where the intake's server time goes (py-spy, busy samples of every server process)."""
    lines = []
    for database, (packages, ours) in PROFILES.items():
        by_package = ", ".join(f"{name} {share:.0%}" for name, share in packages)
        by_function = ", ".join(f"`{name}` {share:.0%}" for name, share in ours)
        lines += [
            "",
            f"Profile of `hotline serve` on {database} in a second run of the same length after the measured one "
            f"(py-spy, 100 Hz, busy samples of all its processes; the sampler's own CPU slows that run, so it "
            f"is not the one measured): by the package running — {by_package}; "
            f"inclusive, our functions — {by_function}.",
        ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--client", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--seconds", type=int, default=20, help="length of each wrk run")
    parser.add_argument("--requests", type=int, default=2000, help="requests per run of the Python client")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn processes on PostgreSQL (SQLite: one)")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help="the event bus of several processes")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--profile", action="store_true", help="sample hotline serve on PostgreSQL with py-spy")
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hotline-bench-intake-"))
    results = []
    targets = ("hotline serve", "bare FastAPI insert")
    for target in targets if not args.no_sqlite else ():
        url = f"sqlite:///{tmp}/{target.split()[0]}.db"
        migrate(url)
        results.append(run("SQLite", url, target, args, tmp, workers=1))
    if not args.no_pg:
        for target in targets:
            version = asyncio.run(reset_postgres(args.pg_url))
            migrate(args.pg_url)
            results.append(run(f"PostgreSQL {version}", args.pg_url, target, args, tmp, workers=args.workers))
    command = ".venv/bin/python -m bench.intake " + " ".join(sys.argv[1:])
    section = report(results, command.strip(), args)
    print(section)
    if not args.no_write:
        write_section("intake", section)


if __name__ == "__main__":
    main()
