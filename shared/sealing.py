"""Encryption at rest of personal content (Fernet: AES-128-CBC with HMAC-SHA256, from the
`cryptography` package). The key comes from LISA_ENCRYPTION_KEY; embedded mode derives one
from LISA_SECRET_KEY so the demo needs no set-up."""
import base64
import hashlib
import json
from functools import cache

from cryptography.fernet import Fernet, InvalidToken

from shared import config


@cache
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def _key() -> str:
    configured = config.env("LISA_ENCRYPTION_KEY")
    if configured:
        return configured
    digest = hashlib.sha256(("lisa-encryption:" + config.secret_key()).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def seal(value) -> str | None:
    """Encrypt a JSON-able value; None stays None."""
    if value is None:
        return None
    return _fernet(_key()).encrypt(json.dumps(value).encode()).decode()


def unseal(token: str | None):
    if token is None:
        return None
    try:
        return json.loads(_fernet(_key()).decrypt(token.encode()))
    except InvalidToken as exc:
        raise RuntimeError("Sealed data cannot be read with this LISA_ENCRYPTION_KEY.") from exc
