"""Browser test harness: the product started as a user would, Debian's Chromium driven by Playwright.

The server runs ``hotline migrate``, ``hotline seed-demo`` and ``hotline serve`` as subprocesses on a
free port with a fresh SQLite file. The browser is never downloaded: ``/usr/bin/chromium`` is used, and
every request it makes is recorded so a test can show that nothing left the product's own host.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, expect
from twilio.request_validator import RequestValidator

from tests.knowledge_base.platform_standin import SECRET as PLATFORM_SECRET
from tests.knowledge_base.platform_standin import PlatformStandIn

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}
PASSWORD = "Browser-Demo-Passw0rd!"
TWILIO_TOKEN = "browser-twilio-auth-token"
STARTUP_SECONDS = 120
COMMAND_SECONDS = 300
LANDMARKS = {  # what each role's landing screen shows once it has loaded
    "operator": "#queue-title",
    "department_staff": "#wb-title",
    "supervisor": "#rr-title",
    "system_admin": "#admin-title",
    "security_admin": "#admin-title",
    "auditor": "#au-title",
}


def require_chromium() -> None:
    """Skip without Debian's Chromium, except where CI says the browser tests must run."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is not installed (apt-get install chromium fonts-noto-cjk)"
    if os.environ.get("HOTLINE_TEST_REQUIRE_BROWSER"):
        pytest.fail(reason + "; HOTLINE_TEST_REQUIRE_BROWSER is set, so the browser tests must run")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Product:
    """The running product: its base URL, and how to send it signed channel traffic."""

    base: str
    log: Path
    netloc: str = field(init=False)

    def __post_init__(self) -> None:
        self.netloc = urlsplit(self.base).netloc

    def api(self, username: str) -> httpx.Client:
        """An API client logged in as ``username`` (bearer token)."""
        response = httpx.post(self.base + "/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {token}"}, timeout=15)

    def incoming_call(self, caller: str) -> None:
        """Twilio's signed webhook for a new call to the hotline number."""
        url = self.base + "/channels/twilio/voice"
        form = {"CallSid": "CA" + os.urandom(16).hex(), "AccountSid": "AC" + "0" * 32, "From": caller}
        form |= {"To": "+8612345000000", "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01"}
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
        response = httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=15)
        assert response.status_code == 200, response.text

    def send_sms(self, body: str, sender: str = "+8613600136000") -> float:
        """Post a Twilio-signed SMS to the real webhook; returns the instant it was sent."""
        url = self.base + "/channels/twilio/sms"
        sid = "SM" + os.urandom(16).hex()
        form = {"MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender, "To": "+8612345000000"}
        form |= {"Body": body, "NumMedia": "0"}
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
        sent = time.monotonic()
        response = httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=15)
        assert response.status_code == 200, response.text
        return sent


@contextmanager
def platform_stand_in() -> Iterator[str]:
    """The approval platform's local stand-in, served from a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(PlatformStandIn().app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="platform-stand-in", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the platform stand-in did not start"
        time.sleep(0.05)  # uvicorn offers no event to wait on
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def running_product(workdir: Path, platform_url: str) -> Iterator[Product]:
    """Migrate, load the demo city and the platform's service items, and serve it, the way ``make run``
    does, on a free port."""
    hotline = str(Path(sys.executable).with_name("hotline"))
    port = free_port()
    env = os.environ | {
        "HOTLINE_PLATFORM_BASE_URL": platform_url,
        "HOTLINE_PLATFORM_SECRET": PLATFORM_SECRET,
        "HOTLINE_KB_PROPOSAL_POLL_SECONDS": "1",  # closed consultations propose entries at once
        "HOTLINE_DATABASE_URL": f"sqlite:///{workdir / 'hotline.db'}",
        "HOTLINE_DEMO_PASSWORD": PASSWORD,
        "HOTLINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "HOTLINE_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "HOTLINE_SMTP_PORT": str(free_port()),
        "HOTLINE_MODEL_DIR": str(workdir / "models"),
    }
    env.pop("HOTLINE_REDIS_URL", None)
    log = workdir / "server.log"
    with log.open("w") as out:
        for step in (["migrate"], ["seed-demo"], ["kb", "import-items", "--from-platform"]):
            done = subprocess.run(
                [hotline, *step], env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, timeout=COMMAND_SECONDS
            )
            assert done.returncode == 0, f"hotline {step[0]} failed: {log.read_text()[-2000:]}"
        server = subprocess.Popen(
            [hotline, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        product = Product(base=f"http://127.0.0.1:{port}", log=log)
        try:
            _wait_healthy(product, server)
            yield product
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


def _wait_healthy(product: Product, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            assert server.poll() is None, f"hotline serve exited: {product.log.read_text()[-2000:]}"
            try:
                if client.get(product.base + "/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)  # polling a starting server: there is no event to wait on
    raise AssertionError("hotline serve never became healthy")


class Requests:
    """Every URL a browser context asked for, pages, scripts, fetches and websockets alike."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def watch(self, context: BrowserContext) -> None:
        context.on("request", lambda request: self.urls.append(request.url))
        context.on("page", lambda page: page.on("websocket", lambda ws: self.urls.append(ws.url)))

    def foreign(self, netloc: str) -> list[str]:
        """Requests that went anywhere but the product itself (data: and blob: URLs never leave the page)."""
        return [u for u in self.urls if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != netloc]


def new_context(browser: Browser, requests: Requests) -> BrowserContext:
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    requests.watch(context)
    return context


def log_in(page: Page, product: Product, username: str, role: str) -> None:
    """Log in through the form, as a person would, and wait for the role's landing screen."""
    page.goto(product.base + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(LANDMARKS[role])).to_be_visible(timeout=15_000)
    # The landmark is server-rendered and can paint before the deferred scripts have run; keyboard
    # shortcuts and live updates exist only once they have, so wait for the page's load event.
    page.wait_for_load_state("load")


def screenshot(page: Page, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"))


def screenshot_folder(tmp: Path) -> Path:
    """``HOTLINE_SCREENSHOT_DIR`` (e.g. docs/screenshots, to refresh the README's pictures), else a temp folder."""
    chosen = os.environ.get("HOTLINE_SCREENSHOT_DIR")
    return Path(chosen) if chosen else tmp / "screenshots"
