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
from fastapi.responses import JSONResponse, Response
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError

from hotline.errors import DomainError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
# PostgreSQL error classes of an outage: connection exceptions (08), insufficient resources such as too many
# connections (53), and the server shutting down or still starting (57P01-57P03).
UNAVAILABLE_SQLSTATES = ("08", "53", "57P")
# SQLite: another process held the write lock beyond the busy timeout.
SQLITE_BUSY = ("database is locked", "database table is locked")
# asyncpg's word for a statement sent on a connection the server already dropped.
ASYNCPG_CLOSED = "connection is closed"


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


async def _answer_outage(request: Request, exc: Exception) -> Response:
    if request.scope["type"] != "http" or not is_outage(exc):
        raise exc
    log.warning("%s %s: a backing service is unreachable: %r", request.method, request.url.path, exc)
    refusal = ServiceUnavailable(
        "系统暂时无法连接数据库或消息服务，请稍后重试",
        "The database or the message service cannot be reached for now; try again shortly",
    )
    return JSONResponse(
        refusal.as_dict(), status_code=refusal.status_code, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


def answer_outages(app: FastAPI) -> None:
    """Answer requests that fail on an unreachable database or Redis with 503 and Retry-After."""
    for error in (DBAPIError, asyncpg.PostgresError, asyncpg.InterfaceError, RedisError, OSError):
        app.add_exception_handler(error, _answer_outage)
