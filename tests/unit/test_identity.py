import pytest

from shared.errors import Forbidden, Unauthenticated
from shared.identity import Identity, SigningKey, TrustedKeys

DESK = Identity("desk", "desk", "antenna_desk", ("ixelles-tulipe",))
GATEWAY = SigningKey.generate("gateway")
TRUSTED = TrustedKeys.parse(GATEWAY.public_entry())


def test_round_trip():
    assert TRUSTED.verify(GATEWAY.mint(DESK, audience="a"), audience="a") == DESK


def test_forged_role_is_refused():
    token = GATEWAY.mint(DESK, audience="a")
    forged = GATEWAY.mint(Identity("desk", "coordinator", "antenna_desk", ("ixelles-tulipe",)),
                          audience="a")
    header, _, signature = token.split(".")
    with pytest.raises(Unauthenticated, match="signature"):
        TRUSTED.verify(f"{header}.{forged.split('.')[1]}.{signature}", audience="a")


@pytest.mark.parametrize("token", [None, "", "garbage", "a.b.c", "!!!.???"])
def test_malformed_identity(token):
    with pytest.raises(Unauthenticated):
        TRUSTED.verify(token, audience="a")


def test_role_and_antenna_checks():
    DESK.require_role("desk", "police")
    with pytest.raises(Forbidden):
        DESK.require_role("coordinator")
    DESK.require_antenna("ixelles-tulipe")
    with pytest.raises(Forbidden):
        DESK.require_antenna("charleroi-nord")
