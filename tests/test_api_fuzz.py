"""Every operation of the API, fed requests that schemathesis generates from the OpenAPI schema (valid ones and
deliberately broken ones), answers without a server error: bad input gets a 4xx and the usual error body.

The server is a real ``hotline serve`` over the test database (SQLite, or PostgreSQL when configured), loaded
with the demo city; the requests are a supervisor's (who may read and change most of the API), the system
administrator's and the security administrator's (settings and accounts). The seed is fixed, so a failure
names a request that can be replayed (the output carries its ``curl``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.channels.conftest import free_port
from tests.processes import HOTLINE_BIN, Processes

SCHEMATHESIS_BIN = str(Path(sys.executable).with_name("st"))
SEED = 20261121
EXAMPLES_PER_OPERATION = 12
NOT_FUZZED = "|".join(
    (
        "^/api/v1/auth/",  # logging out would end the session the run uses
        "^/api/v1/me/password",
        # The link to the approval platform answers 503 on purpose when it is not configured (tested with a
        # stand-in of the platform in tests/knowledge_base/).
        "^/api/v1/platform/",
        "^/api/v1/service-items/import-from-platform",
    )
)


@pytest.mark.parametrize("username", ["supervisor1", "admin1", "security1"])
async def test_no_api_operation_answers_generated_requests_with_a_server_error(
    database_url: str, tmp_path: Path, username: str
) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HOTLINE_")}
    env.update(
        HOTLINE_ENVIRONMENT="test",
        HOTLINE_DATABASE_URL=database_url,
        HOTLINE_COOKIE_SECURE="false",
        HOTLINE_SEED_DATA_DIR="/nonexistent",  # the demo city without the public message files
        HOTLINE_MODEL_DIR=str(tmp_path / "models"),
        HOTLINE_SPOOL_DIR=str(tmp_path / "spool"),
    )
    seeded = subprocess.run(
        [HOTLINE_BIN, "seed-demo", "--orders", "60"], env=env, capture_output=True, text=True, check=True
    )
    password = json.loads(seeded.stdout.strip().splitlines()[-1])["demo_password"]
    processes = Processes(env, tmp_path)
    try:
        base = await processes.serving("app", free_port())
        async with httpx.AsyncClient(base_url=base) as client:
            login = {"username": username, "password": password}
            token = (await client.post("/api/v1/auth/login", json=login)).json()["access_token"]
        fuzz = await asyncio.create_subprocess_exec(
            SCHEMATHESIS_BIN,
            "run",
            f"{base}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--seed",
            str(SEED),
            "--workers",
            "2",
            "--exclude-path-regex",
            NOT_FUZZED,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            cwd=tmp_path,  # where it keeps its own files
        )
        output, _ = await fuzz.communicate()
    finally:
        processes.stop_all()
    report = output.decode(errors="replace")
    assert fuzz.returncode == 0, report[-8000:] + "\n--- server log ---\n" + processes.log_of("app")
    assert " passed" in report and "generated" in report  # the run reached the operations
