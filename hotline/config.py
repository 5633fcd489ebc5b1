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
    access_log: bool = True  # a log line per request from `serve`; off behind nginx, whose access log has them
    gc_tuning: bool = True  # freeze what startup built and collect young objects less often (hotline/main.py)

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
    outbox_lease_seconds: float = 120.0  # a message claimed by a worker that died is sent again after this long

    twilio_auth_token: SecretStr | None = None
    wechat_token: SecretStr | None = None
    wechat_aes_key: SecretStr | None = None
    wechat_app_id: str | None = None
    smtp_port: int = 2525

    # Channels (hotline/channels): intake limits, the SMTP listener, and the outbound providers' endpoints.
    intake_attach_window_hours: int = 24  # a message joins the citizen's open order touched within this window
    channel_max_body_bytes: int = 64 * 1024  # SMS, WeChat, Open311 and web-form bodies
    public_submit_per_minute: int = 10  # web form and Open311 submissions per client address
    twilio_account_sid: str | None = None
    twilio_from_number: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"
    wechat_app_secret: SecretStr | None = None
    wechat_api_base_url: str = "https://api.weixin.qq.com"
    wechat_timestamp_window_seconds: int = 300
    wechat_require_safe_mode: bool = False  # refuse plain pushes (their signature does not cover the body)
    wechat_welcome_text: str = (
        "您好，欢迎关注12345政务服务便民热线。请直接发送您的诉求（可附图片、语音或位置），我们将尽快受理。"
    )
    smtp_enabled: bool | None = None  # the inbound SMTP server; default: on, except in tests
    smtp_host: str = "127.0.0.1"
    smtp_accept_domains: list[str] = []  # recipient domains the SMTP server takes mail for; empty: any
    email_address: str = "12345@hotline.example.cn"
    email_max_message_bytes: int = 25 * 1024 * 1024
    email_max_attachment_bytes: int = 10 * 1024 * 1024
    email_max_attachments: int = 10
    email_attachment_types: list[str] = [
        "image/*",
        "audio/*",
        "video/mp4",
        "application/pdf",
        "text/plain",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ]
    email_gateway_token: SecretStr | None = None  # when set, POST /channels/email/inbound requires it
    smtp_relay_host: str | None = None
    smtp_relay_port: int = 25
    smtp_relay_username: str | None = None
    smtp_relay_password: SecretStr | None = None
    smtp_relay_starttls: bool = False

    # Routing (routing/): the category model, the gazetteer, and proposals for new orders in the background.
    # Messages that arrive while the database is unreachable wait here (local disk), and are stored this often.
    spool_dir: Path = Path("var/spool")
    spool_replay_seconds: float = 5.0

    model_dir: Path = Path("var/models")  # one directory per model version, and ACTIVE naming the one in use
    model_check_seconds: float = 30.0  # how often a process looks for a newly activated model
    gazetteer_file: Path = Path(__file__).resolve().parent / "seed" / "data" / "gazetteer.json"
    routing_refresh_seconds: float = 60.0  # units, category tree and gazetteer are re-read this often
    classify_poll_seconds: float = 5.0  # the job proposing category, territory and units for new orders
    classify_batch_size: int = 50
    classify_recent_hours: int = 24  # orders this recent get a proposal even when already dispatched

    # Callback surveys (hotline/surveys): how citizens are asked after a reply, retries, expiry, sampling.
    survey_poll_seconds: float = 60.0  # the job that starts, resends and expires surveys
    survey_phone_method: Literal["voice", "sms", "operator"] = "voice"  # for orders taken by phone
    survey_calling_hours: str = "08:00-21:00"  # surveys go out (and calls are made) only in this daily window
    survey_retry_minutes: int = 240  # an unanswered survey is asked again after this long
    survey_max_attempts: int = 3
    survey_expire_hours: int = 48  # no answer this long after the first attempt: 未回访
    survey_default_sample_percent: int = 100  # orders surveyed where no sampling rule applies
    survey_senior_supervisors: list[str] = []  # usernames judging second bad ratings; empty: any other supervisor
    survey_batch_size: int = 200

    # Phone calls (hotline/calls): service hours, the queue to operators, voicemail, the call-back queue,
    # operators' phones, and the local switch's CTI link. See docs/CALLS.md.
    call_service_hours: str = "00:00-24:00"  # daily window (China time) in which calls queue for an operator
    call_max_wait_seconds: int = 180  # a caller waiting longer is offered voicemail
    call_ring_seconds: int = 20  # an operator's phone rings this long, then the call goes to the next operator
    call_wrap_up_seconds: int = 30  # after a call the seat is in wrap-up (话后处理) this long, then available
    call_voicemail_max_seconds: int = 120  # longest voicemail recording
    call_voicemail_silence_seconds: int = 5  # silence that ends a recording
    call_hold_music_url: str | None = None  # played while waiting; None: the hotline's own hold tone
    call_twilio_queue: str = "hotline"  # the Twilio queue (<Enqueue>) that holds waiting callers
    call_record_conversations: bool = True  # Twilio records answered calls (both sides)
    # Rung (a number or "sip:…") for calls arriving while the database cannot be reached, e.g. the center's
    # backup switchboard; None: those callers are asked to call again.
    call_outage_forward_to: str | None = None
    call_operator_endpoints: dict[str, str] = {}  # username → phone number, "sip:…" or "client:…" (CTI: seat id)
    call_switch: Literal["twilio", "cti"] = "twilio"  # who places call-backs (outbound calls)
    call_callback_max_attempts: int = 3  # a missed call not reached after this many call-backs: unreachable
    call_tick_seconds: float = 2.0  # the job re-offering unanswered rings, ending wrap-ups, overflowing the queue
    cti_hmac_secret: SecretStr | None = None  # signs POST /channels/cti/events and our commands to the switch
    cti_command_url: str | None = None  # where the local switch takes commands (connect, voicemail, dial)
    cti_timestamp_window_seconds: int = 300  # a signed CTI request older or newer than this is refused

    # Knowledge base and the approval platform (knowledge_base/): search, auto-answers, the platform adapter.
    # See docs/KNOWLEDGE_BASE.md and docs/PLATFORM.md.
    kb_index_poll_seconds: float = 5.0  # a process picks up entries changed by another process this often
    kb_warm_up: bool = True  # build the search index in the background at start, not at the first search
    kb_auto_answer: bool = True  # new WeChat and SMS orders get the knowledge base's answer when it is confident
    kb_auto_answer_poll_seconds: float = 2.0  # how often the job answering them (after the acknowledgement) runs
    kb_auto_answer_min_score: float = 0.55  # the top hit's score (0..1) needed for an auto-answer
    kb_auto_answer_min_margin: float = 0.05  # and its lead over the second hit
    kb_auto_answer_max_chars: int = 300  # longer answers are cut, with a pointer to the FAQ page
    kb_duplicate_min_score: float = 0.75  # a proposed question this close to an entry is offered as a phrasing
    kb_proposal_poll_seconds: float = 60.0  # the job proposing drafts from consultations closed since
    platform_base_url: str | None = None  # the approval platform's adapter API; unset: lookups are refused
    platform_secret: SecretStr | None = None  # HMAC-SHA256 key of both directions
    platform_timestamp_window_seconds: int = 300  # a signed request older or newer than this is refused
    platform_timeout_seconds: float = 5.0

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key.get_secret_value() == DEFAULT_SECRET:
            raise ValueError("HOTLINE_SECRET_KEY must be set to a non-default value in production")
        if self.environment == "production" and self.demo_password is not None:
            raise ValueError("HOTLINE_DEMO_PASSWORD must not be set in production")
        return self

    @property
    def smtp_server_enabled(self) -> bool:
        return self.smtp_enabled if self.smtp_enabled is not None else self.environment != "test"

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
