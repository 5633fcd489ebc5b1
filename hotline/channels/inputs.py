"""Reading what webhooks send: bounded bodies, url-encoded forms with repeated fields, per-client rate limits."""

from __future__ import annotations

import time
from collections import deque
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from hotline.errors import DomainError

MAX_FORM_FIELDS = 200
RATE_WINDOW_SECONDS = 60.0
RATE_LIMIT_MAX_CLIENTS = 10_000  # forget the oldest clients beyond this many, so memory stays bounded


class Malformed(DomainError):
    status_code = 400
    code = "malformed"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class TooManyRequests(DomainError):
    status_code = 429
    code = "too_many_requests"


class ChannelNotConfigured(DomainError):
    status_code = 403
    code = "channel_not_configured"


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it grows past ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge("内容过大", f"the body exceeds {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge("内容过大", f"the body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """An ``application/x-www-form-urlencoded`` body as ordered pairs; repeated fields stay repeated."""
    try:
        text = body.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise Malformed("表单格式不正确", f"not a url-encoded form: {exc}") from exc


def first(pairs: list[tuple[str, str]], name: str, default: str = "") -> str:
    """The first value of a form field."""
    return next((value for key, value in pairs if key == name), default)


def form_document(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """A form as a JSON document to keep: a repeated field becomes a list of its values."""
    document: dict[str, Any] = {}
    for name, value in pairs:
        if name not in document:
            document[name] = value
        elif isinstance(document[name], list):
            document[name].append(value)
        else:
            document[name] = [document[name], value]
    return document


def public_url(base: str, request: Request) -> str:
    """The URL the sender called, as seen from outside: the configured public base, not the proxy's hop."""
    query = request.scope.get("query_string", b"").decode("latin-1")
    return base.rstrip("/") + request.url.path + (f"?{query}" if query else "")


def client_key(request: Request) -> str:
    """The client's address (uvicorn resolves trusted proxies' X-Forwarded-For)."""
    return request.client.host if request.client else "unknown"


class RateLimiter:
    """A sliding one-minute window per client, in memory (one process; Redis would share it)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}

    def check(self, key: str, now: float | None = None) -> None:
        """Count one submission, or refuse it with 429."""
        now = time.monotonic() if now is None else now
        hits = self._hits.pop(key, deque())
        while hits and hits[0] <= now - RATE_WINDOW_SECONDS:
            hits.popleft()
        if len(hits) >= self.per_minute:
            self._hits[key] = hits
            raise TooManyRequests("提交过于频繁，请稍后再试", "too many submissions; try again in a minute")
        hits.append(now)
        self._hits[key] = hits  # re-inserted last: the dict's order is least recently seen first
        while len(self._hits) > RATE_LIMIT_MAX_CLIENTS:
            self._hits.pop(next(iter(self._hits)))


def limiter_for(request: Request) -> RateLimiter:
    """The process's limiter of public submissions (web form, Open311)."""
    state = request.app.state
    if getattr(state, "channel_limiter", None) is None:
        state.channel_limiter = RateLimiter(state.settings.public_submit_per_minute)
    limiter: RateLimiter = state.channel_limiter
    return limiter
