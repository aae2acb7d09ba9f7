"""Encryption at rest of personal content (Fernet: AES-128-CBC with HMAC-SHA256, from the
`cryptography` package). LISA_ENCRYPTION_KEYS lists Fernet keys: the first encrypts, every one
decrypts, so a key changes over without a stop; `reseal` moves old content to the first key
(`python -m lisa.cli reencrypt`, ADR 12). There is no default and nothing derived:
`make demo` writes its own key under var/."""
import json
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shared import config
from shared.config import ConfigurationError


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"{config.ENCRYPTION_KEYS_VARIABLE} holds a value that is "
                                    "not a Fernet key.") from exc


def _keys() -> MultiFernet:
    keys = tuple(config.encryption_keys())
    if not keys:
        raise ConfigurationError(f"{config.ENCRYPTION_KEYS_VARIABLE} is not set.")
    return _fernet(keys)


def check_configuration() -> None:
    _keys()


def seal(value) -> str | None:
    """Encrypt a JSON-able value with the first key; None stays None."""
    if value is None:
        return None
    return _keys().encrypt(json.dumps(value).encode()).decode()


def unseal(token: str | None):
    if token is None:
        return None
    try:
        return json.loads(_keys().decrypt(token.encode()))
    except InvalidToken as exc:
        raise RuntimeError(f"Sealed data cannot be read with any key of "
                           f"{config.ENCRYPTION_KEYS_VARIABLE}.") from exc


def reseal(token: str | None) -> str | None:
    """The same content encrypted with the first key (its original timestamp kept)."""
    if token is None:
        return None
    try:
        return _keys().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise RuntimeError(f"Sealed data cannot be read with any key of "
                           f"{config.ENCRYPTION_KEYS_VARIABLE}.") from exc
