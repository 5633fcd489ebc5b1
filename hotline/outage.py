"""A backing service that cannot be reached answers 503 with Retry-After, not a bare 500.

When the database or Redis goes away (a restart, a failover, a cut network), the requests caught by it
fail. Their callers should be told that the service is briefly unavailable and that trying again will
work, which is what 503 and ``Retry-After`` say to browsers, the console's scripts, proxies and the
platform's and carriers' retry logic. Every other error keeps its usual handling.
"""

from __future__ import annotations

import logging
import socket
import sqlite3

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, EmulatedDBAPIException

from hotline.errors import DomainError, InvalidInput

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
# PostgreSQL error classes of an outage: connection exceptions (08), insufficient resources such as too many
# connections (53), and the server shutting down or still starting (57P01-57P03).
UNAVAILABLE_SQLSTATES = ("08", "53", "57P")
# SQLite: another process held the write lock beyond the busy timeout.
SQLITE_BUSY = ("database is locked", "database table is locked")
# asyncpg's word for a statement sent on a connection the server already dropped.
ASYNCPG_CLOSED = "connection is closed"
# asyncpg's words for an argument it cannot encode for its column (a number out of the type's range).
ASYNCPG_BAD_ARGUMENT = "invalid input for query argument"
# PostgreSQL's data exceptions for a value of the request it cannot store: a number out of range (22003), a
# NUL character (22021, which no PostgreSQL text may hold), a character the encoding lacks (22P05).
REFUSED_VALUES = ("22003", "22021", "22P05")
OUTAGE_MESSAGE_ZH = "系统暂时无法连接数据库或消息服务，请稍后重试"
# Paths whose callers are programs (the staff screens' scripts, the channels' peers): they get JSON.
MACHINE_PATHS = ("/api/", "/channels/")
# What a browser shows when a page cannot be served: self-contained, as nothing else may load either.
OUTAGE_PAGE = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>系统暂时无法使用 - 12345政务服务便民热线</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 4em auto; padding: 0 1em; line-height: 1.6">
<h1 style="font-size: 1.4em">系统暂时无法使用</h1>
<p>{OUTAGE_MESSAGE_ZH}。请过几秒钟<a href="">重新加载</a>本页。</p>
<p>您也可以拨打12345热线反映诉求；如遇紧急情况，请拨打110、119、120。</p>
</body></html>
"""


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "service_unavailable"


def is_outage(exc: BaseException) -> bool:
    """Whether the error means a backing service could not be reached, rather than a fault of the request."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:  # the error, then what it wraps
        seen.add(id(current))
        if _is_outage_itself(current):
            return True
        current = current.orig if isinstance(current, DBAPIError) else current.__cause__
    return False


def _is_outage_itself(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror | RedisConnectionError | RedisTimeoutError):
        return True
    if isinstance(exc, asyncpg.InterfaceError) and ASYNCPG_CLOSED in str(exc):
        return True
    if isinstance(exc, sqlite3.OperationalError) and str(exc) in SQLITE_BUSY:
        return True
    sqlstate = getattr(exc, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(UNAVAILABLE_SQLSTATES)


def is_refused_value(exc: BaseException) -> bool:
    """Whether the database refused a value of the request it cannot store (an id like 10^30, a NUL character).

    SQLite's driver raises OverflowError for an integer beyond 64 bits; asyncpg refuses an argument outside
    its column's type (int32 for INTEGER) before sending it; PostgreSQL answers with a data exception.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OverflowError):
            return True
        if isinstance(current, asyncpg.DataError) and str(current).startswith(ASYNCPG_BAD_ARGUMENT):
            return True
        if getattr(current, "sqlstate", None) in REFUSED_VALUES:
            return True
        current = current.orig if isinstance(current, DBAPIError) else current.__cause__
    return False


async def _answer_database_error(request: Request, exc: Exception) -> Response:
    if request.scope["type"] == "http" and is_refused_value(exc):
        invalid = InvalidInput("请求中有超出范围的数值或无效字符", "a number out of range or an invalid character")
        return JSONResponse(invalid.as_dict(), status_code=invalid.status_code)
    if request.scope["type"] != "http" or not is_outage(exc):
        raise exc
    log.warning("%s %s: a backing service is unreachable: %r", request.method, request.url.path, exc)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if wants_page(request):
        return HTMLResponse(OUTAGE_PAGE, status_code=ServiceUnavailable.status_code, headers=headers)
    refusal = ServiceUnavailable(
        OUTAGE_MESSAGE_ZH, "The database or the message service cannot be reached for now; try again shortly"
    )
    return JSONResponse(refusal.as_dict(), status_code=refusal.status_code, headers=headers)


def wants_page(request: Request) -> bool:
    """Whether a browser navigated here (and should see a page), rather than a program calling."""
    accepts_html = "text/html" in request.headers.get("accept", "")
    return accepts_html and not request.url.path.startswith(MACHINE_PATHS)


def answer_outages(app: FastAPI) -> None:
    """Answer requests that fail on an unreachable database or Redis with 503 and Retry-After (and those
    carrying a value the database cannot store with 422)."""
    # EmulatedDBAPIException: the asyncpg adapter's own errors, raised unwrapped by statements run on the driver.
    for error in (
        DBAPIError,
        EmulatedDBAPIException,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        RedisError,
        OSError,
        OverflowError,
    ):
        app.add_exception_handler(error, _answer_database_error)
