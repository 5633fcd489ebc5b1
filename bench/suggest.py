"""Latency of the console's routing suggestion (POST /api/v1/routing/suggest) against ``hotline serve``.

    .venv/bin/python -m bench.suggest [--requests 1000] [--model-dir DIR] [--pg-url URL | --no-pg]

Builds the demo city (units, category tree, dispatch catalogue, accounts) in a fresh SQLite file
(and, unless ``--no-pg``, in the PostgreSQL database of ``--pg-url``, reset first), trains the
category model on the public base set with ``hotline classifier retrain`` (or uses the active model
of ``--model-dir``), starts ``hotline serve`` and sends real citizen messages (title and body of
``teddycup2020_c_test_unlabeled.jsonl``) with addresses from the gazetteer, one operator at a time
and then eight at once. Client round trips and the server's own compute time (``elapsed_ms``) are
written into docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.intake import free_port, migrate, reset_postgres, server
from bench.report import write_section

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
MESSAGES = DATA / "teddycup2020_c_test_unlabeled.jsonl"
BASE_SET = DATA / "classify_train.jsonl"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test_routing"
PASSWORD = "Bench-Passw0rd!"
WARMUP = 50
CONCURRENCY = 8
MAX_CONTENT = 5000
ADDRESSES = (
    "梁园区平原路",
    "睢阳区宋城路天祥花园",
    "商丘古城南门",
    "示范区中州路",
    "夏邑县城关镇东关村",
    "虞城县利民镇",
    "柘城县浦东街道",
    "民权县北关镇王公庄",
    "梁源区长征社区",
    None,
)


@dataclass(frozen=True)
class Run:
    database: str
    mode: str
    round_trips_ms: list[float]
    server_ms: list[float]
    errors: int

    @staticmethod
    def pct(values: list[float], p: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def row(self) -> str:
        rt, srv = self.round_trips_ms, self.server_ms
        return (
            f"| {self.database} | {self.mode} | {len(rt)} | {self.errors} | {self.pct(rt, 50):.1f} | "
            f"{self.pct(rt, 99):.1f} | {max(rt):.1f} | {self.pct(srv, 50):.1f} | {self.pct(srv, 99):.1f} |"
        )


def requests_from(count: int) -> list[dict[str, str | None]]:
    """Real citizen messages (title and body), each with an address from the gazetteer or none."""
    rng = random.Random(12345)
    rows = [json.loads(line) for line in MESSAGES.read_text(encoding="utf-8").splitlines() if line.strip()]
    picked = [rows[i % len(rows)] for i in rng.sample(range(len(rows)), min(count, len(rows)))]
    while len(picked) < count:
        picked.append(rng.choice(rows))
    return [
        {"content": f"{row['title']}\n{row['body']}"[:MAX_CONTENT], "address": rng.choice(ADDRESSES)} for row in picked
    ]


def prepare(url: str, model_dir: Path, tmp: Path, train: bool) -> None:
    """Schema, demo city without orders, and (once) a model trained on the public base set."""
    migrate(url)
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": url,
        "HOTLINE_DEMO_PASSWORD": PASSWORD,
        "HOTLINE_MODEL_DIR": str(model_dir),
    }
    hotline = str(ROOT / ".venv/bin/hotline")
    subprocess.run([hotline, "seed-demo", "--orders", "0"], env=env, cwd=ROOT, check=True, capture_output=True)
    if train:
        trained = subprocess.run(
            [hotline, "classifier", "retrain", "--base", str(BASE_SET)], env=env, cwd=ROOT, capture_output=True
        )
        (tmp / "retrain.log").write_bytes(trained.stdout + trained.stderr)
        if trained.returncode != 0:
            raise RuntimeError(f"retrain failed; see {tmp / 'retrain.log'}")


async def drive(base: str, token: str, bodies: list[dict[str, str | None]], concurrency: int) -> Run:
    queue = list(reversed(bodies))
    round_trips: list[float] = []
    server_ms: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {token}"}

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while queue:
            body = queue.pop()
            started = time.perf_counter()
            response = await client.post(base + "/api/v1/routing/suggest", json=body, headers=headers)
            round_trips.append((time.perf_counter() - started) * 1000)
            if response.status_code == 200:
                server_ms.append(response.json()["elapsed_ms"])
            else:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return Run("", "", round_trips, server_ms, errors)


def measure(database: str, url: str, model_dir: Path, bodies: list[dict[str, str | None]], tmp: Path) -> list[Run]:
    port = free_port()
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": url,
        "HOTLINE_MODEL_DIR": str(model_dir),
        "HOTLINE_RUN_JOBS": "false",
        "HOTLINE_SMTP_ENABLED": "false",
        "HOTLINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    command = [str(ROOT / ".venv/bin/hotline"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with server(command, env, port, tmp / f"serve-{database.split()[0]}.log") as base:
        login = httpx.post(f"{base}/api/v1/auth/login", json={"username": "operator1", "password": PASSWORD})
        token = login.json()["access_token"]
        asyncio.run(drive(base, token, bodies[:WARMUP], 1))
        runs = []
        for mode, concurrency in (("one operator", 1), (f"{CONCURRENCY} at once", CONCURRENCY)):
            run = asyncio.run(drive(base, token, bodies, concurrency))
            runs.append(Run(database, mode, run.round_trips_ms, run.server_ms, run.errors))
    return runs


def report(runs: list[Run], command: str, model: str, load: float) -> str:
    return "\n".join(
        [
            "## Routing suggestion (POST /api/v1/routing/suggest)",
            "",
            f"`{command}` — real citizen messages (title and body, up to 5,000 characters) with a gazetteer "
            f"address or none, after {WARMUP} warm-up requests, against `hotline serve` (one uvicorn process) "
            f"with the demo city's catalogue and the category model {model} (trained by `hotline classifier "
            "retrain` on the public base set). Each call returns the top-3 categories, request type, urgency, "
            "territory with matched spans and the proposed units with their explanation. Round trip: the "
            "client's view over HTTP on the same machine (authentication and the catalogue's change check "
            "included); server: the proposal's own compute time (`elapsed_ms`). The client shares the "
            f"machine's cores (1-minute load average before the run: {load:.1f}).",
            "",
            "| database | clients | requests | errors | round trip p50 ms | p99 ms | max ms | server p50 ms | p99 ms |",
            "|---|---|---|---|---|---|---|---|---|",
            *(run.row() for run in runs),
            "",
            "Goal: under 50 ms per call for one operator.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--model-dir", type=Path, help="use this folder's active model instead of training one")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hotline-bench-suggest-"))
    model_dir = args.model_dir or tmp / "models"
    load = os.getloadavg()[0]
    bodies = requests_from(args.requests)
    sqlite_url = f"sqlite:///{tmp}/suggest.db"
    prepare(sqlite_url, model_dir, tmp, train=args.model_dir is None)
    model = (model_dir / "ACTIVE").read_text(encoding="utf-8").strip()
    runs = measure("SQLite", sqlite_url, model_dir, bodies, tmp)
    if not args.no_pg:
        version = asyncio.run(reset_postgres(args.pg_url))
        prepare(args.pg_url, model_dir, tmp, train=False)
        runs += measure(f"PostgreSQL {version}", args.pg_url, model_dir, bodies, tmp)
    command = (".venv/bin/python -m bench.suggest " + " ".join(sys.argv[1:])).strip()
    section = report(runs, command, model, load)
    print(section)
    if not args.no_write:
        write_section("routing-suggest", section)


if __name__ == "__main__":
    main()
