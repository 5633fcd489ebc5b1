"""Migrations build the same schema on an empty SQLite file and an empty PostgreSQL database, without drift."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url

from hotline.db import create_engine
from hotline.migrate import alembic_config, upgrade

POSTGRES_URL = os.environ.get("HOTLINE_TEST_DATABASE_URL")


def _describe(connection: Connection) -> dict[str, Any]:
    inspector = inspect(connection)
    schema: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        if table == "alembic_version":
            continue
        schema[table] = {
            "columns": {c["name"]: bool(c["nullable"]) for c in inspector.get_columns(table)},
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
                if "duplicates_constraint" not in i
            ),
            "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
            "foreign_keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"]) for f in inspector.get_foreign_keys(table)
            ),
        }
    return schema


async def _schema(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    async with engine.connect() as connection:
        described = await connection.run_sync(_describe)
    await engine.dispose()
    return described


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A brand-new PostgreSQL database, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("HOTLINE_TEST_DATABASE_URL not set")
    name = f"hotline_migrate_{uuid.uuid4().hex[:8]}"

    async def admin(statement: str) -> None:
        engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(admin(f'DROP DATABASE "{name}" WITH (FORCE)'))


def test_sqlite_migrates_from_empty_with_no_drift(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade(url)
    command.check(alembic_config(url))  # raises if the models and the migrations disagree
    assert "tickets" in asyncio.run(_schema(url))


def test_postgres_gets_the_same_schema_as_sqlite(empty_postgres: str, tmp_path: Path) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade(sqlite_url)
    upgrade(empty_postgres)
    command.check(alembic_config(empty_postgres))
    assert asyncio.run(_schema(empty_postgres)) == asyncio.run(_schema(sqlite_url))


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    assert asyncio.run(_schema(url)) == {}
    upgrade(url)
    assert "ticket_events" in asyncio.run(_schema(url))
