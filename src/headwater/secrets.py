"""Secrets in connection configs (passwords, SSL keys, AWS keys) are sealed at rest and never shown.

Values under secret-looking keys are encrypted with Fernet before they are stored, masked in every
API answer, and unsealed only where a connector needs them. The key comes from
HEADWATER_SECRET_KEY, else from `secret.key` in the data directory (created on first start, mode
600); give every server of a PostgreSQL deployment the same key.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

SEALED_PREFIX = "hw-enc:v1:"
MASK = "*********"
SECRET_KEY_RE = re.compile(
    r"(password|passwd|secret|token|privatekey|private_key|sslkey|ssl_key|credential|apikey|api_key|passphrase|"
    r"accesskey|access_key|sessiontoken)",
    re.I,
)


def is_secret_key(key: str) -> bool:
    return bool(SECRET_KEY_RE.search(key))


class SecretBox:
    """Seals, unseals and masks secret values inside nested JSON-like structures."""

    def __init__(self, key: bytes | str) -> None:
        self._fernet = Fernet(key if isinstance(key, bytes) else key.encode())

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> SecretBox:
        env = os.environ.get("HEADWATER_SECRET_KEY")
        if env:
            return cls(env)
        path = data_dir / "secret.key"
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(cls.new_key())
        return cls(path.read_text().strip())

    def seal(self, value: Any, old: Any = None, *, under_secret: bool = False) -> Any:
        """Encrypt secret values; a masked value sent back by a client keeps the stored secret."""
        if isinstance(value, dict):
            old_d = old if isinstance(old, dict) else {}
            return {
                k: self.seal(v, old_d.get(k), under_secret=under_secret or is_secret_key(k))
                for k, v in value.items()
            }
        if isinstance(value, list):
            old_l = old if isinstance(old, list) else []
            return [
                self.seal(v, old_l[i] if i < len(old_l) else None, under_secret=under_secret)
                for i, v in enumerate(value)
            ]
        if under_secret and isinstance(value, str) and value:
            if value == MASK:
                return old if isinstance(old, str) else None
            if value.startswith(SEALED_PREFIX):
                return value
            return SEALED_PREFIX + self._fernet.encrypt(value.encode()).decode()
        return value

    def unseal(self, value: Any) -> Any:
        """The clear values, for a connector that must use them."""
        if isinstance(value, dict):
            return {k: self.unseal(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.unseal(v) for v in value]
        if isinstance(value, str) and value.startswith(SEALED_PREFIX):
            try:
                return self._fernet.decrypt(value[len(SEALED_PREFIX) :].encode()).decode()
            except InvalidToken:
                raise ValueError(
                    "cannot decrypt a stored secret: HEADWATER_SECRET_KEY (or data_dir/secret.key) differs "
                    "from the key it was sealed with"
                ) from None
        return value


def mask(value: Any, *, under_secret: bool = False) -> Any:
    """A copy with every secret (sealed or under a secret-looking key) replaced by a mask."""
    if isinstance(value, dict):
        return {k: mask(v, under_secret=under_secret or is_secret_key(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, under_secret=under_secret) for v in value]
    if isinstance(value, str) and (value.startswith(SEALED_PREFIX) or (under_secret and value)):
        return MASK
    return value
