"""Password encryption compatible with DM's `dmctl encrypt` (pkg/encrypt, pkg/utils).

A secret is `base64(iv ‖ "@" ‖ AES-256-CFB(iv, plaintext))` under the fixed key
compiled into DM, so configs written for DM decrypt here and vice versa.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

try:  # cryptography >= 47 keeps CFB among the "decrepit" modes
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.modes import CFB

from dm import errors

_KEY = bytes.fromhex("a529b7665997f043a30ac8fadcb51d6aa032c226ab5b7750530b12b8c1a16a48")
_IV_SIZE = 16
_SEPARATOR = b"@"


def encrypt(plain: str) -> str:
    """Encrypt a password the way `dmctl encrypt` does (a fresh random IV each time)."""
    iv = os.urandom(_IV_SIZE)
    encryptor = Cipher(algorithms.AES(_KEY), CFB(iv)).encryptor()
    body = encryptor.update(plain.encode()) + encryptor.finalize()
    return base64.b64encode(iv + _SEPARATOR + body).decode("ascii")


def decrypt(cipher: str) -> str:
    """Decrypt a DM secret; raises errors.DECRYPT if `cipher` is not one."""
    try:
        raw = base64.b64decode(cipher, validate=True)
    except (binascii.Error, ValueError):
        raise errors.DECRYPT(what="the password", cause="not base64") from None
    if len(raw) < _IV_SIZE + len(_SEPARATOR) or raw[_IV_SIZE : _IV_SIZE + 1] != _SEPARATOR:
        raise errors.DECRYPT(what="the password")
    iv, body = raw[:_IV_SIZE], raw[_IV_SIZE + 1 :]
    decryptor = Cipher(algorithms.AES(_KEY), CFB(iv)).decryptor()
    plain = decryptor.update(body) + decryptor.finalize()
    try:
        return plain.decode()
    except UnicodeDecodeError:
        raise errors.DECRYPT(what="the password", cause="not UTF-8 once decrypted") from None


def decrypt_or_plain(text: str) -> str:
    """DM's DecryptOrPlaintext: the decrypted secret, or `text` itself if it is not one."""
    try:
        return decrypt(text)
    except errors.DMError:
        return text
