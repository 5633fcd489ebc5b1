"""WeChat official account callbacks: server verification, plain and safe-mode pushes, passive replies."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

from hotline.channels.inputs import ChannelNotConfigured, Malformed, PayloadTooLarge
from hotline.channels.intake import Identity, InboundMessage, Receipt
from hotline.channels.models import Channel
from hotline.channels.wechat_crypto import WeChatCipher, same, signature
from hotline.citizens.models import IdentityKind
from hotline.config import Settings
from hotline.errors import Forbidden

MAX_FIELDS = 64
MAX_FIELD_CHARS = 8192
OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DIGITS = re.compile(r"^[0-9]{1,20}$")
STORED_EVENTS = {"subscribe": "[关注公众号]", "unsubscribe": "[取消关注]"}  # other events are not kept
MEDIA_BODIES = {"image": "[图片]", "voice": "[语音]", "video": "[视频]", "shortvideo": "[小视频]"}


@dataclass(frozen=True)
class Push:
    """An authenticated push: its fields, and how the reply must be sent back."""

    fields: dict[str, Any]
    safe_mode: bool
    nonce: str


def _token(settings: Settings) -> str:
    if settings.wechat_token is None:
        raise ChannelNotConfigured("微信渠道未配置", "the WeChat channel is not configured")
    return settings.wechat_token.get_secret_value()


def _cipher(settings: Settings) -> WeChatCipher:
    if settings.wechat_aes_key is None or not settings.wechat_app_id:
        raise ChannelNotConfigured("微信安全模式未配置", "safe mode needs HOTLINE_WECHAT_AES_KEY and _APP_ID")
    return WeChatCipher(settings.wechat_aes_key.get_secret_value(), settings.wechat_app_id)


def _check_signature(settings: Settings, params: Mapping[str, str], now: float) -> str:
    """Check ``signature`` over token, timestamp and nonce, and the timestamp window; the token."""
    token = _token(settings)
    timestamp, nonce = params.get("timestamp", ""), params.get("nonce", "")
    if not DIGITS.match(timestamp) or not same(params.get("signature", ""), signature(token, timestamp, nonce)):
        raise Forbidden("微信签名校验失败", "the WeChat signature does not match")
    if abs(now - int(timestamp)) > settings.wechat_timestamp_window_seconds:
        raise Forbidden("微信请求已过期", "the WeChat timestamp is outside the accepted window (replay?)")
    return token


def verify_server(settings: Settings, params: Mapping[str, str], now: float | None = None) -> str:
    """The ``echostr`` to answer WeChat's server verification (GET) with."""
    _check_signature(settings, params, time.time() if now is None else now)
    return params.get("echostr", "")


def open_push(settings: Settings, params: Mapping[str, str], body: bytes, now: float | None = None) -> Push:
    """Authenticate a push and read its fields; safe mode also checks msg_signature and the AppID."""
    token = _check_signature(settings, params, time.time() if now is None else now)
    fields = parse_xml(body)
    if params.get("encrypt_type", "raw") != "aes":
        if settings.wechat_require_safe_mode:
            raise Forbidden("仅接受安全模式消息", "plain pushes are refused: the account is in safe mode")
        return Push(fields, safe_mode=False, nonce=params.get("nonce", ""))
    encrypted = fields.get("Encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise Malformed("安全模式消息缺少 Encrypt", "a safe-mode push without Encrypt")
    expected = signature(token, params.get("timestamp", ""), params.get("nonce", ""), encrypted)
    if not same(params.get("msg_signature", ""), expected):
        raise Forbidden("微信消息签名校验失败", "msg_signature does not match")
    inner = _cipher(settings).decrypt(encrypted)
    return Push(parse_xml(inner.encode("utf-8")), safe_mode=True, nonce=params.get("nonce", ""))


def parse_xml(body: bytes) -> dict[str, Any]:
    """The fields of a WeChat ``<xml>`` document; DTDs, entities and external references are refused."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except Exception as exc:  # hostile input: any parser complaint (syntax, DTD, entity, encoding) is a 400
        raise Malformed("XML 格式不正确或含有不允许的内容", f"unreadable XML: {type(exc).__name__}") from exc
    if root.tag != "xml":
        raise Malformed("XML 根元素应为 <xml>", "the root element must be <xml>")
    if len(root) > MAX_FIELDS:
        raise PayloadTooLarge("XML 字段过多", "too many XML fields")
    return {child.tag: _value(child) for child in root}


def _value(element: Element) -> Any:
    if len(element):
        return {child.tag: _text(child) for child in list(element)[:MAX_FIELDS]}
    return _text(element)


def _text(element: Element) -> str:
    text = element.text or ""
    if len(text) > MAX_FIELD_CHARS:
        raise PayloadTooLarge("XML 字段过长", f"the field {element.tag} is too long")
    return text


def _field(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def to_inbound(fields: dict[str, Any]) -> InboundMessage | None:
    """The inbound message of a push, or None for an event that is not kept (menu clicks, location reports)."""
    openid, created, kind = _field(fields, "FromUserName"), _field(fields, "CreateTime"), _field(fields, "MsgType")
    if not OPENID.match(openid) or not DIGITS.match(created) or not kind:
        raise Malformed("缺少 FromUserName、CreateTime 或 MsgType", "missing FromUserName, CreateTime or MsgType")
    sender = Identity(IdentityKind.WECHAT, openid)
    if kind == "event":
        label = STORED_EVENTS.get(_field(fields, "Event"))
        if label is None:
            return None
        return InboundMessage(
            Channel.WECHAT, f"event:{openid}:{created}", label, fields, sender=sender, opens_ticket=False
        )
    msg_id = _field(fields, "MsgId")
    if msg_id and not DIGITS.match(msg_id):
        raise Malformed("MsgId 无效", "MsgId is not a number")
    body, address = _body(kind, fields)
    return InboundMessage(
        Channel.WECHAT, msg_id or f"msg:{openid}:{created}", body, fields, sender=sender, address=address
    )


def _body(kind: str, fields: dict[str, Any]) -> tuple[str, str | None]:
    """What the citizen said, as text for the order; media stay referenced by their MediaId."""
    if kind == "text":
        return _field(fields, "Content"), None
    if kind == "voice" and _field(fields, "Recognition"):
        return _field(fields, "Recognition"), None
    if kind in MEDIA_BODIES:
        link = _field(fields, "PicUrl")
        return f"{MEDIA_BODIES[kind]} {link}".strip(), None
    if kind == "location":
        label = _field(fields, "Label")
        where = f"({_field(fields, 'Location_X')}, {_field(fields, 'Location_Y')})"
        return f"[位置] {label} {where}".strip(), label or None
    if kind == "link":
        return f"[链接] {_field(fields, 'Title')} {_field(fields, 'Url')}".strip(), None
    raise Malformed(f"不支持的消息类型：{kind[:32]}", f"unsupported MsgType {kind[:32]!r}")


def reply_text(settings: Settings, message: InboundMessage, receipt: Receipt) -> str | None:
    """The passive reply: the order number (repeated on WeChat's retries), or the welcome on subscribe."""
    if message.raw.get("Event") == "subscribe":
        return settings.wechat_welcome_text
    if receipt.ticket_number is None:
        return None
    if receipt.survey_reply is not None:  # an answer to a callback survey (the same again on WeChat's retries)
        return receipt.survey_reply
    if receipt.new_ticket or receipt.duplicate:  # WeChat retries until it gets the reply: give it again
        return f"您的诉求已受理，工单号：{receipt.ticket_number}。我们将按时限办理，结果会通过本公众号告知您。"
    return f"已收到您的补充信息，已并入工单{receipt.ticket_number}。"


def render_reply(settings: Settings, push: Push, content: str, now: float | None = None) -> str:
    """A passive text reply, encrypted and signed again in safe mode."""
    timestamp = str(int(time.time() if now is None else now))
    xml = (
        f"<xml><ToUserName>{_cdata(_field(push.fields, 'FromUserName'))}</ToUserName>"
        f"<FromUserName>{_cdata(_field(push.fields, 'ToUserName'))}</FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content></xml>"
    )
    if not push.safe_mode:
        return xml
    encrypted = _cipher(settings).encrypt(xml)
    signed = signature(_token(settings), timestamp, push.nonce, encrypted)
    return (
        f"<xml><Encrypt>{_cdata(encrypted)}</Encrypt><MsgSignature>{_cdata(signed)}</MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{_cdata(push.nonce)}</Nonce></xml>"
    )


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"
