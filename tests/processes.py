"""Real hotline processes for tests (``hotline serve``, ``hotline worker``), and polling until a deadline."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx

HOTLINE_BIN = str(Path(sys.executable).with_name("hotline"))
STARTUP_SECONDS = 120.0  # four Python processes importing the whole app on a busy 2-core machine
DEADLINE_SECONDS = 60.0
POLL_SECONDS = 0.1
T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, seconds: float = DEADLINE_SECONDS) -> T:
    """Poll ``probe`` until it returns something, or fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = await probe()
        if value is not None and value is not False:
            return value
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"timed out waiting for {what}")


class Processes:
    """Real hotline processes sharing one environment; stopped (or killed) by their own pids."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str, **env: str) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        self.running[name] = subprocess.Popen(
            [HOTLINE_BIN, *args], env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown code runs, as when a machine dies."""
        process = self.running.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.running.values():
            process.terminate()
        for process in self.running.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)
        self.running.clear()

    def log_of(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]

    async def serving(self, name: str, port: int, *options: str) -> str:
        """Start ``hotline serve`` on a port and wait until /readyz says ready."""
        self.start(name, "serve", "--host", "127.0.0.1", "--port", str(port), *options, HOTLINE_RUN_JOBS="false")
        base = f"http://127.0.0.1:{port}"

        async def ready() -> bool:
            if self.running[name].poll() is not None:
                raise AssertionError(f"{name} exited:\n{self.log_of(name)}")
            try:
                async with httpx.AsyncClient(timeout=5) as client:
                    return (await client.get(base + "/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(ready, f"{name} to be ready", STARTUP_SECONDS)
        return base
