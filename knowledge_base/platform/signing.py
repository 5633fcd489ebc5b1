"""HMAC-SHA256 signatures of the platform link, the same in both directions.

The signed text is ``timestamp + "\\n" + METHOD + "\\n" + path?query + "\\n" + body``; the signature travels as
``X-Platform-Signature: sha256=<hex>`` beside ``X-Platform-Timestamp: <unix seconds>``. A request outside the
timestamp window is refused, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from hotline.errors import NotAuthenticated

TIMESTAMP_HEADER = "X-Platform-Timestamp"
SIGNATURE_HEADER = "X-Platform-Signature"
SCHEME = "sha256="


def signature(secret: str, *, timestamp: str, method: str, target: str, body: bytes) -> str:
    """The signature header value of one request."""
    message = b"\n".join([timestamp.encode(), method.upper().encode(), target.encode(), body])
    return SCHEME + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, *, method: str, target: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The two headers that sign a request we send."""
    timestamp = str(int(time.time() if now is None else now))
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp=timestamp, method=method, target=target, body=body),
    }


def verify(
    secret: str | None,
    headers: Mapping[str, str],
    *,
    method: str,
    target: str,
    body: bytes,
    window_seconds: int,
    now: float | None = None,
) -> None:
    """Refuse (401) a request that is unsigned, signed with another key, or outside the timestamp window."""
    if not secret:
        raise NotAuthenticated("未配置政务服务平台密钥", "the platform link has no shared secret configured")
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    given = headers.get(SIGNATURE_HEADER, "")
    if not timestamp.isdigit() or not given:
        raise NotAuthenticated("缺少平台签名", "the request is not signed")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > window_seconds:
        raise NotAuthenticated("平台签名已过期", "the signature's timestamp is outside the allowed window")
    expected = signature(secret, timestamp=timestamp, method=method, target=target, body=body)
    if not hmac.compare_digest(expected, given):
        raise NotAuthenticated("平台签名无效", "the signature does not match")
