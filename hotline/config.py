"""Typed settings, read from ``HOTLINE_`` environment variables."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "dev-secret-change-me"
DEFAULT_DATABASE_URL = "sqlite:///./var/hotline.db"


class Settings(BaseSettings):
    """Every knob of the service; defaults suit a developer's laptop."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000

    demo_password: SecretStr | None = None
    seed_data_dir: Path = Path(__file__).resolve().parents[1].parent / "shared" / "data"

    session_idle_minutes: int = 30
    session_max_hours: int = 12
    login_max_failures: int = 5
    login_lockout_minutes: int = 10
    cookie_secure: bool = True

    run_jobs: bool = True  # periodic jobs (outbox, supervision sweep) inside `serve`; off when workers run them
    sla_sweep_seconds: int = 60
    outbox_poll_seconds: float = 2.0

    twilio_auth_token: SecretStr | None = None
    wechat_token: SecretStr | None = None
    wechat_aes_key: SecretStr | None = None
    wechat_app_id: str | None = None
    smtp_port: int = 2525

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key.get_secret_value() == DEFAULT_SECRET:
            raise ValueError("HOTLINE_SECRET_KEY must be set to a non-default value in production")
        if self.environment == "production" and self.demo_password is not None:
            raise ValueError("HOTLINE_DEMO_PASSWORD must not be set in production")
        return self

    @property
    def session_idle_timeout(self) -> timedelta:
        return timedelta(minutes=self.session_idle_minutes)

    @property
    def session_max_age(self) -> timedelta:
        return timedelta(hours=self.session_max_hours)

    @property
    def lockout_duration(self) -> timedelta:
        return timedelta(minutes=self.login_lockout_minutes)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
