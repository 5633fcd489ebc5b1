"""Which channels are configured, read from the environment settings, with every secret masked."""

from __future__ import annotations

from pydantic import SecretStr

from hotline.admin.schemas import ChannelSetting, ChannelStatus
from hotline.config import Settings

VISIBLE_ENDS = 2
SHORT_SECRET = 8


def mask(secret: SecretStr | None) -> str | None:
    """Enough of a secret to recognise it, never enough to use it."""
    if secret is None:
        return None
    value = secret.get_secret_value()
    if len(value) <= SHORT_SECRET:
        return "••••••"
    return value[:VISIBLE_ENDS] + "••••" + value[-VISIBLE_ENDS:]


SECRET_FIELDS = {name for name, field in Settings.model_fields.items() if "SecretStr" in str(field.annotation)}


def _setting(field: str, value: object) -> ChannelSetting:
    name = f"HOTLINE_{field.upper()}"
    if field in SECRET_FIELDS:
        return ChannelSetting(name=name, value=mask(value if isinstance(value, SecretStr) else None), secret=True)
    return ChannelSetting(name=name, value=None if value is None else str(value), secret=False)


def statuses(settings: Settings) -> list[ChannelStatus]:
    """One row per channel: whether its credentials are set, and its settings as they stand."""
    s = settings

    def status(channel: str, label: str, endpoint: str, required: list[object], names: list[str]) -> ChannelStatus:
        return ChannelStatus(
            channel=channel,
            label=label,
            configured=all(v is not None and v != "" for v in required),
            endpoint=endpoint,
            settings=[_setting(n, getattr(s, n)) for n in names],
        )

    return [
        status(
            "phone",
            "电话（Twilio 语音）",
            "/channels/twilio/voice",
            [s.twilio_auth_token],
            ["twilio_auth_token", "twilio_account_sid", "twilio_from_number", "twilio_api_base_url"],
        ),
        status("cti", "电话（本地交换机 CTI）", "/channels/cti/events", [s.cti_hmac_secret], ["cti_hmac_secret"]),
        status(
            "sms",
            "短信（Twilio）",
            "/channels/twilio/sms",
            [s.twilio_auth_token],
            ["twilio_auth_token", "twilio_account_sid", "twilio_from_number"],
        ),
        status(
            "wechat",
            "微信公众号",
            "/channels/wechat",
            [s.wechat_token, s.wechat_app_id],
            ["wechat_token", "wechat_aes_key", "wechat_app_id", "wechat_app_secret", "wechat_api_base_url"],
        ),
        status(
            "email",
            "电子邮件",
            f"SMTP :{s.smtp_port} · /channels/email/inbound",
            [s.email_address],
            ["email_address", "smtp_port", "email_gateway_token", "smtp_relay_host", "smtp_relay_password"],
        ),
        status("web", "网站 / Open311", "/open311/v2/requests.json", [], []),
    ]
