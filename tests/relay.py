"""A TCP relay between the service and a server (PostgreSQL, Redis) that a test can cut and restore."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy.engine import make_url

from hotline.db import Database, is_sqlite

DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "redis": 6379}


@dataclass
class Relay:
    """Forwards 127.0.0.1:<port> to the target; cutting it acts as a restarting server or a broken network."""

    target: tuple[str, int]
    port: int = 0
    server: asyncio.Server | None = None
    open: set[asyncio.StreamWriter] = field(default_factory=set)

    async def up(self) -> None:
        """Listen (again, on the same port once one was chosen)."""
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        if self.server is None:
            return
        self.server.close()
        for writer in list(self.open):
            writer.transport.abort()
        self.open.clear()
        await self.server.wait_closed()
        self.server = None

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(*self.target)
        self.open.update((client_writer, server_writer))

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            writer.transport.abort()

        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))


async def relay_to(url: str) -> tuple[Relay, str]:
    """A listening relay to the server of ``url`` (PostgreSQL, Redis), and the same URL through the relay."""
    parsed = make_url(url)
    relay = Relay((parsed.host or "127.0.0.1", parsed.port or DEFAULT_PORTS[parsed.get_backend_name()]))
    await relay.up()
    return relay, parsed.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def cuttable_database(db: Database) -> AsyncIterator[tuple[Relay, str]]:
    """A relay to the test's PostgreSQL and the URL through it, cut again at the end (SQLite: the test skips)."""
    if is_sqlite(db.engine):
        pytest.skip("SQLite is a file in the process: there is no connection to lose")
    relay, through_relay = await relay_to(db.url)
    try:
        yield relay, through_relay
    finally:
        await relay.cut()
