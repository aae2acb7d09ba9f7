"""Encryption keys at rest change over without losing content (ADR 12): the first key of
LISA_ENCRYPTION_KEYS encrypts, every key decrypts, and resealing moves content to the first."""
import pytest
from cryptography.fernet import Fernet

from shared import sealing
from shared.config import ConfigurationError

A, B = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_content_sealed_under_a_old_key_is_read_during_and_after_a_change_over(monkeypatch):
    monkeypatch.setenv("LISA_ENCRYPTION_KEYS", A)
    sealed = sealing.seal({"message": "Demande d'accompagnement discret."})
    monkeypatch.setenv("LISA_ENCRYPTION_KEYS", f"{B},{A}")
    assert sealing.unseal(sealed) == {"message": "Demande d'accompagnement discret."}
    resealed = sealing.reseal(sealed)
    assert resealed != sealed and sealing.reseal(resealed) != resealed  # safe to re-run
    monkeypatch.setenv("LISA_ENCRYPTION_KEYS", B)
    assert sealing.unseal(resealed) == {"message": "Demande d'accompagnement discret."}
    with pytest.raises(RuntimeError, match="LISA_ENCRYPTION_KEYS"):
        sealing.unseal(sealed)


def test_new_content_is_sealed_with_the_first_key(monkeypatch):
    monkeypatch.setenv("LISA_ENCRYPTION_KEYS", f"{B},{A}")
    sealed = sealing.seal("x")
    assert Fernet(B.encode()).decrypt(sealed.encode()) == b'"x"'


def test_none_stays_none_and_is_not_resealed(monkeypatch):
    monkeypatch.setenv("LISA_ENCRYPTION_KEYS", A)
    assert sealing.seal(None) is None and sealing.reseal(None) is None


@pytest.mark.parametrize("keys", ["", " , ", "not-a-fernet-key"])
def test_no_usable_key_is_an_error_naming_the_variable(monkeypatch, keys):
    monkeypatch.setenv("LISA_ENCRYPTION_KEYS", keys)
    with pytest.raises(ConfigurationError, match="LISA_ENCRYPTION_KEYS"):
        sealing.seal("x")


def test_no_key_is_derived_from_anything_else(monkeypatch):
    """Today a missing key was derived from LISA_SECRET_KEY or its public default."""
    monkeypatch.delenv("LISA_ENCRYPTION_KEYS", raising=False)
    monkeypatch.setenv("LISA_ENCRYPTION_KEY", A)   # the old, single-key variable
    monkeypatch.setenv("LISA_SECRET_KEY", "anything")
    with pytest.raises(ConfigurationError, match="LISA_ENCRYPTION_KEYS"):
        sealing.seal("x")
