"""SMS through Twilio Messaging webhooks: signature check, the inbound message, and the TwiML acknowledgement."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape

from hotline.channels.inputs import ChannelNotConfigured, Malformed, first, form_document
from hotline.channels.intake import Identity, InboundMessage, Receipt
from hotline.channels.models import Channel
from hotline.citizens.models import IdentityKind
from hotline.config import Settings
from hotline.errors import Forbidden

SIGNATURE_HEADER = "x-twilio-signature"
SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"  # names the algorithm when a shared key signs
ALGORITHMS = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}
SID = re.compile(r"^[A-Za-z]{2}[0-9A-Za-z]{1,64}$")
MAX_MEDIA = 10
DEFAULT_PORTS = {"https": 443, "http": 80}


def compute_signature(token: str, url: str, params: list[tuple[str, str]], algorithm: str = "HMAC_SHA1") -> str:
    """Twilio's signature: the URL, then each field name with each of its distinct values, in sorted order."""
    grouped: dict[str, set[str]] = {}
    for name, value in params:
        grouped.setdefault(name, set()).add(value)
    signed = url + "".join(name + value for name in sorted(grouped) for value in sorted(grouped[name]))
    digest = hmac.new(token.encode("utf-8"), signed.encode("utf-8"), ALGORITHMS[algorithm]).digest()
    return base64.b64encode(digest).decode("ascii")


def url_variants(url: str) -> list[str]:
    """The URL without and with its default port; Twilio signs either form."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
    without = urlunsplit(parts._replace(netloc=prefix + host))
    with_port = urlunsplit(parts._replace(netloc=f"{prefix}{host}:{port}"))
    return [without, with_port]


def _algorithm(settings_header: str) -> str:
    for part in settings_header.split(","):
        name, _, value = part.partition("=")
        if name.strip() == "algorithm" and value.strip():
            return value.strip().upper()
    return "HMAC_SHA1"


def require_signature(settings: Settings, headers: Mapping[str, str]) -> None:
    """Refuse (403) before reading the body when the channel is off or the request is unsigned."""
    if settings.twilio_auth_token is None:
        raise ChannelNotConfigured("短信渠道未配置", "the SMS channel is not configured")
    if not headers.get(SIGNATURE_HEADER):
        raise Forbidden("短信签名缺失", "missing X-Twilio-Signature")


def authenticate(settings: Settings, *, url: str, params: list[tuple[str, str]], headers: Mapping[str, str]) -> None:
    """Refuse (403) a request that Twilio did not sign for our public URL."""
    if settings.twilio_auth_token is None:
        raise ChannelNotConfigured("短信渠道未配置", "the SMS channel is not configured")
    signature = headers.get(SIGNATURE_HEADER, "")
    algorithm = _algorithm(headers.get(SETTINGS_HEADER, ""))
    if not signature or algorithm not in ALGORITHMS:
        raise Forbidden("短信签名缺失或无效", "missing or unsupported X-Twilio-Signature")
    token = settings.twilio_auth_token.get_secret_value()
    expected = [compute_signature(token, variant, params, algorithm) for variant in url_variants(url)]
    if not any(hmac.compare_digest(signature.encode(), e.encode()) for e in expected):
        raise Forbidden("短信签名校验失败", "X-Twilio-Signature does not match")
    account = first(params, "AccountSid")
    if settings.twilio_account_sid and account != settings.twilio_account_sid:
        raise Forbidden("短信来自未知账户", "the message is for another Twilio account")


def to_inbound(params: list[tuple[str, str]]) -> InboundMessage:
    """The inbound message of a signed webhook; media stay links (fetched later, never in the webhook's path)."""
    sid = first(params, "MessageSid") or first(params, "SmsSid")
    if not SID.match(sid):
        raise Malformed("缺少或无效的 MessageSid", "missing or invalid MessageSid")
    sender = first(params, "From").strip()
    if not sender:
        raise Malformed("缺少发送号码", "missing From")
    media = _media(params)
    body = first(params, "Body").strip()
    if media:
        body = (body + "\n" if body else "") + f"[彩信附件 {len(media)} 个]"
    raw = {**form_document(params), "media": media}
    return InboundMessage(
        channel=Channel.SMS, external_id=sid, body=body, raw=raw, sender=Identity(IdentityKind.PHONE, sender)
    )


def _media(params: list[tuple[str, str]]) -> list[dict[str, str]]:
    try:
        count = int(first(params, "NumMedia", "0") or "0")
    except ValueError as exc:
        raise Malformed("NumMedia 无效", "NumMedia is not a number") from exc
    if not 0 <= count <= MAX_MEDIA:
        raise Malformed("NumMedia 无效", f"NumMedia must be between 0 and {MAX_MEDIA}")
    return [
        {"url": first(params, f"MediaUrl{i}"), "content_type": first(params, f"MediaContentType{i}")}
        for i in range(count)
    ]


def acknowledgement(receipt: Receipt) -> str | None:
    """The SMS sent back at once: the order number (GB/T 33358 asks for a reply within 3 minutes)."""
    if receipt.duplicate or receipt.ticket_number is None:
        return None  # a replay was acknowledged the first time
    if receipt.survey_reply is not None:
        return f"【12345】{receipt.survey_reply}"
    if receipt.new_ticket:
        return f"【12345】您的诉求已受理，工单号{receipt.ticket_number}，我们将按时限办理并回复。"
    return f"【12345】已收到您的补充信息，已并入工单{receipt.ticket_number}。"


def twiml(reply: str | None) -> str:
    """A TwiML response that replies with one SMS, or with nothing."""
    inner = f"<Message>{escape(reply)}</Message>" if reply else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'
