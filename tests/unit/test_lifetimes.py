"""A maximum lifetime for identities and API tokens (review of issue 7, finding 8): an absurd
setting is refused at start, naming the variable and its bounds, instead of being used."""
import pytest

from lisa.cli import check_lifetimes
from services.gateway import auth
from shared import config


@pytest.mark.parametrize("variable, value", [
    ("LISA_IDENTITY_TTL_SECONDS", "315360000"), ("LISA_IDENTITY_TTL_SECONDS", "0"),
    ("LISA_IDENTITY_TTL_SECONDS", "-5"), ("LISA_TOKEN_TTL_SECONDS", "315360000"),
    ("LISA_TOKEN_TTL_SECONDS", "1"),
])
def test_an_absurd_lifetime_is_refused_at_start(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as refused:
        check_lifetimes()
    assert variable in str(refused.value.code) and "must be from" in str(refused.value.code)


def test_sane_lifetimes_are_used(monkeypatch):
    monkeypatch.setenv("LISA_IDENTITY_TTL_SECONDS", "3600")
    monkeypatch.setenv("LISA_TOKEN_TTL_SECONDS", "604800")
    check_lifetimes()
    assert config.identity_ttl_seconds() == 3600 and auth.token_ttl_seconds() == 604800
    monkeypatch.delenv("LISA_IDENTITY_TTL_SECONDS")
    monkeypatch.delenv("LISA_TOKEN_TTL_SECONDS")
    assert config.identity_ttl_seconds() == 300 and auth.token_ttl_seconds() == 28800
