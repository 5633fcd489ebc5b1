"""Engine and sessions: SQLite (embedded default) or PostgreSQL, chosen from a plain URL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

from hotline import models  # noqa: F401  (every table registered before any session flushes)
from hotline.events.bus import BusUnavailable, EventBus, take_pending

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_SECONDS = 30
READONLY = "hotline_readonly"
AUTOCOMMIT_ENGINE = "hotline_autocommit_engine"  # session.info key: short statements outside the transaction
AUTOCOMMIT_POOL_SIZE = 4
# Connections a process keeps open (and may add for a burst). Below the requests in flight, connections beyond
# the pool were opened and closed again for each burst: a connection costs milliseconds of CPU to open.
POOL_SIZE = 20
POOL_OVERFLOW = 5
POOL_RECYCLE_SECONDS = 1800  # idle connections older than this are replaced (firewalls drop idle TCP sessions)
# A server that does not answer (a cut network drops packets silently) fails a request after this long, not
# after asyncpg's 60 seconds: callers get their 503 sooner, and a webhook is spooled while Twilio (15 s) still
# waits for the answer.
POSTGRES_CONNECT_TIMEOUT_SECONDS = 5


def async_url(url: str) -> URL:
    """Turn ``sqlite:///path`` or ``postgresql://...`` into the async driver's URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}")


def is_sqlite(engine: AsyncEngine) -> bool:
    """Whether the engine talks to the embedded SQLite file."""
    return engine.dialect.name == "sqlite"


def _prepare_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, and write transactions that take the lock up front (no upgrade deadlocks)."""
    database = engine.url.database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        readonly = connection.get_execution_options().get(READONLY, False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for a plain database URL."""
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        engine = create_async_engine(target, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, **kwargs)
        _prepare_sqlite(engine)
        return engine
    # No ping before every checkout (a round trip per transaction): a connection that died with the server
    # fails its one request, and SQLAlchemy then replaces every connection of the pool that predates it.
    pool = {
        "pool_size": POOL_SIZE,
        "max_overflow": POOL_OVERFLOW,
        "pool_recycle": POOL_RECYCLE_SECONDS,
        "connect_args": {"timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS},
    }
    return create_async_engine(target, **{**pool, **kwargs})


class Database:
    """One engine with a writer and a reader session factory; events go out after commit."""

    def __init__(self, url: str, bus: EventBus | None = None, **kwargs: Any) -> None:
        self.url = url
        self.bus = bus
        self.engine = create_engine(url, **kwargs)
        # PostgreSQL: a small pool of its own for statements that must commit at once, such as taking the
        # day's next order number; its own pool, so that a request holding a connection never waits on itself.
        self.autocommit_engine = (
            None
            if is_sqlite(self.engine)
            else create_engine(
                url,
                pool_size=AUTOCOMMIT_POOL_SIZE,
                max_overflow=0,
                isolation_level="AUTOCOMMIT",
            )
        )
        self._writer = async_sessionmaker(
            self.engine, expire_on_commit=False, info={AUTOCOMMIT_ENGINE: self.autocommit_engine}
        )
        self._reader = async_sessionmaker(self.engine.execution_options(**{READONLY: True}), expire_on_commit=False)
        # SQLite lets one transaction write at a time; queueing writers here, in order, is fairer and
        # faster than letting them spin on the file lock's busy handler.
        self._write_turn: contextlib.AbstractAsyncContextManager[object] = (
            asyncio.Lock() if is_sqlite(self.engine) else contextlib.nullcontext()
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A write unit of work: committed once at the end, rolled back on any error."""
        async with self._write_turn, self._writer() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                take_pending(session)
                raise
            events = take_pending(session)
            if self.bus is not None and events:
                try:
                    await self.bus.publish_all(events)
                except BusUnavailable as exc:  # the work is committed; only its live notices are lost
                    log.warning("committed, but %d live events were not delivered: %s", len(events), exc)

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A read-only unit of work that never takes the write lock."""
        async with self._reader() as session:  # closing returns the connection, which rolls back
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.autocommit_engine is not None:
            await self.autocommit_engine.dispose()


class DriverStatement:
    """A PostgreSQL statement compiled once and run on asyncpg itself, inside the session's transaction.

    For the few statements of the intake's hot path only: SQLAlchemy's execute (the compiled-statement
    cache, parameter processing, the result's wrapping and a greenlet switch) costs about 0.1 ms of CPU per
    statement more than asyncpg's own, a tenth of an intake's database work. Parameters still go through the
    columns' bind processors (aware UTC datetimes, JSON documents), so the stored values are those of
    ``session.execute``; the rows come back as asyncpg records, and errors as asyncpg raises them (not
    translated into SQLAlchemy's), so these statements are written not to fail on conflicts.
    """

    _dialect = PGDialect_asyncpg()  # type: ignore[no-untyped-call]

    def __init__(self, statement: ClauseElement) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=self._dialect))
        self.sql = compiled.string
        binds = compiled.binds
        dialect = self._dialect
        self._parameters: list[tuple[str, Any, Callable[[Any], Any] | None]] = [
            (name, binds[name].effective_value, binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in compiled.positiontup or ()
        ]

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional arguments of one execution; a parameter not given keeps its statement's value."""
        values = []
        for name, default, process in self._parameters:
            value = params[name] if name in params else default
            values.append(process(value) if process is not None else value)
        return values

    async def fetch(self, session: AsyncSession, params: Mapping[str, Any]) -> list[Any]:
        """Every row the statement returns, run in the session's transaction."""
        connection = await session.connection()
        async with on_driver(connection) as driver:
            return list(await driver.fetch(self.sql, *self.arguments(params)))


@asynccontextmanager
async def on_driver(connection: AsyncConnection) -> AsyncIterator[Any]:
    """The asyncpg connection under a SQLAlchemy one, with its transaction begun; a dead one is discarded.

    SQLAlchemy's asyncpg adapter sends BEGIN lazily, with its first statement: a statement run on the driver
    first must begin it the same way, or it would commit on its own. An error from the driver does not pass
    through SQLAlchemy's handling, which on a lost connection (a database restart, a dropped link) discards
    it and the pooled connections that predate it; this does the same, so that the next requests get fresh
    connections instead of failing on dead ones.
    """
    pooled = await connection.get_raw_connection()
    adapted, driver = pooled.dbapi_connection, pooled.driver_connection
    try:
        if adapted is None or driver is None:
            raise RuntimeError("the connection is closed")
        if adapted._transaction is None and not adapted.autocommit:  # the adapter's own lazy BEGIN (SQLAlchemy 2.1)
            await adapted._start_transaction()
        yield driver
    except Exception as error:
        if driver is None or driver.is_closed():
            await connection.invalidate(error)
            await connection.engine.dispose(close=False)
        raise
