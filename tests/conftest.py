"""Shared fixtures: a real database built by Alembic for every test (SQLite, or PostgreSQL in CI)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import httpx
import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.models import Role, User
from hotline.auth.passwords import hash_password
from hotline.auth.service import CurrentUser
from hotline.config import Settings
from hotline.db import Database, create_engine
from hotline.events.bus import InProcessEventBus
from hotline.main import create_app
from hotline.migrate import upgrade
from hotline.models import metadata
from hotline.seed.city import load_categories, load_units
from hotline.units.models import Unit

# Property tests check behaviour, not speed: a busy CI machine must not fail them on a deadline.
hypothesis_settings.register_profile("hotline", deadline=None)
hypothesis_settings.load_profile("hotline")

PASSWORD = "Test-Passw0rd!"
POSTGRES_URL = os.environ.get("HOTLINE_TEST_DATABASE_URL")


@cache
def password_hash() -> str:
    return hash_password(PASSWORD)


async def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(t.name for t in metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database migrated once per run: a SQLite file to copy, or the PostgreSQL test database."""
    import asyncio

    if POSTGRES_URL:
        asyncio.run(_reset_postgres(POSTGRES_URL))
        upgrade(POSTGRES_URL)
        return POSTGRES_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture
async def database_url(migrated_template: str, tmp_path: Path) -> str:
    """An empty, fully migrated database for this test alone."""
    if POSTGRES_URL:
        await _truncate_postgres(POSTGRES_URL)
        return POSTGRES_URL
    target = tmp_path / "hotline.db"
    shutil.copy(migrated_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, bus=InProcessEventBus())
    yield database
    await database.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        run_jobs=False,  # tests run jobs explicitly, at the instants they choose
        kb_warm_up=False,  # tests that search expect the index built by their first search
        gc_tuning=False,  # a test process starts hundreds of apps: frozen objects would never be freed
        environment="test",
        database_url=database_url,
        cookie_secure=False,
        seed_data_dir=Path("/nonexistent"),
        spool_dir=tmp_path / "spool",
        model_dir=tmp_path / "models",  # never a model trained in the checkout (make run trains one)
    )


@dataclass
class City:
    """The demo city's units by code, and helpers to add staff."""

    units: dict[str, Unit]

    def unit(self, code: str) -> Unit:
        return self.units[code]


@pytest.fixture
async def city(db: Database) -> City:
    async with db.session() as session:
        units = await load_units(session)
        await load_categories(session, units)
    return City(units)


async def add_user(session: AsyncSession, username: str, role: Role, unit: Unit | None = None) -> User:
    user = User(
        username=username,
        display_name=username,
        password_hash=password_hash(),
        role=role,
        unit_id=unit.id if unit else None,
    )
    session.add(user)
    await session.flush()
    return user


def as_current(user: User, unit: Unit | None = None) -> CurrentUser:
    assert user.id is not None
    return CurrentUser(
        user.id, user.username, user.display_name, Role(user.role), user.unit_id, unit.path if unit else None, 0
    )


@pytest.fixture
async def app_client(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process, with the app's lifespan running."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


STAFF = {
    "operator1": (Role.OPERATOR, None),
    "dispatcher1": (Role.DISPATCHER, None),
    "supervisor1": (Role.SUPERVISOR, None),
    "admin1": (Role.SYSTEM_ADMIN, None),
    "security1": (Role.SECURITY_ADMIN, None),
    "auditor1": (Role.AUDITOR, None),
    "dept_zhujian1": (Role.DEPARTMENT_STAFF, "zhujian"),
    "dept_liangyuan1": (Role.DEPARTMENT_STAFF, "liangyuan"),
    "dept_suiyang1": (Role.DEPARTMENT_STAFF, "suiyang"),
    "dept_pingyuan1": (Role.DEPARTMENT_STAFF, "liangyuan_pingyuan"),
}


@pytest.fixture
async def staff(db: Database, city: City) -> dict[str, User]:
    """One account per role, and department staff of a bureau, two districts and a street."""
    users = {}
    async with db.session() as session:
        for name, (role, unit_code) in STAFF.items():
            users[name] = await add_user(session, name, role, city.units[unit_code] if unit_code else None)
    return users


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_report_header() -> Iterator[str] | list[str]:
    return [f"database: {'PostgreSQL ' + POSTGRES_URL if POSTGRES_URL else 'SQLite (per-test file)'}"]
