"""WeChat's message signatures and safe-mode encryption (AES-256-CBC, PKCS#7 to 32 bytes, AppID check)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from hotline.channels.inputs import ChannelNotConfigured, Malformed
from hotline.errors import Forbidden

BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16
RANDOM_PREFIX = 16
KEY_LENGTH = 32


def signature(*parts: str) -> str:
    """SHA-1 over the parts sorted and joined, as WeChat signs its calls."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


class WeChatCipher:
    """Encrypts replies and decrypts pushes for one official account."""

    def __init__(self, encoding_aes_key: str, app_id: str) -> None:
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise ChannelNotConfigured("微信加密密钥配置有误", "HOTLINE_WECHAT_AES_KEY is not valid base64") from exc
        if len(key) != KEY_LENGTH:
            raise ChannelNotConfigured("微信加密密钥配置有误", "HOTLINE_WECHAT_AES_KEY must be 43 characters")
        self._key, self._app_id = key, app_id

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, text: str) -> str:
        """The base64 ciphertext of a reply."""
        message = text.encode("utf-8")
        plain = os.urandom(RANDOM_PREFIX) + struct.pack(">I", len(message)) + message + self._app_id.encode("utf-8")
        pad = BLOCK - len(plain) % BLOCK
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> str:
        """The XML inside a push; refuses a push for another AppID."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Malformed("密文格式不正确", "Encrypt is not base64") from exc
        if not data or len(data) % 16:
            raise Malformed("密文长度不正确", "Encrypt has a wrong length")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or len(plain) < RANDOM_PREFIX + 4 + pad:
            raise Malformed("密文填充不正确", "bad padding in Encrypt")
        content = plain[RANDOM_PREFIX:-pad]
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise Malformed("密文长度不正确", "bad length in Encrypt")
        if content[4 + length :] != self._app_id.encode("utf-8"):
            raise Forbidden("AppID 不匹配", "the push is for another AppID")
        try:
            return content[4 : 4 + length].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Malformed("密文内容不是 UTF-8", "the decrypted message is not UTF-8") from exc
