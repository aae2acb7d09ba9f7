import pytest

from shared.errors import Forbidden, Unauthenticated
from shared.identity import Identity, sign, verify

DESK = Identity("desk", "desk", "antenna_desk", ("ixelles-tulipe",))


def test_round_trip():
    assert verify(sign(DESK, "s3cret"), "s3cret") == DESK


def test_forged_role_is_refused():
    token = sign(DESK, "s3cret")
    forged = sign(Identity("desk", "coordinator", "antenna_desk", ("ixelles-tulipe",)), "guess")
    body = forged.split(".")[0]
    with pytest.raises(Unauthenticated, match="signature"):
        verify(f"{body}.{token.split('.')[1]}", "s3cret")


@pytest.mark.parametrize("token", [None, "", "garbage", "a.b.c", "!!!.???"])
def test_malformed_identity(token):
    with pytest.raises(Unauthenticated):
        verify(token, "s3cret")


def test_role_and_antenna_checks():
    DESK.require_role("desk", "police")
    with pytest.raises(Forbidden):
        DESK.require_role("coordinator")
    DESK.require_antenna("ixelles-tulipe")
    with pytest.raises(Forbidden):
        DESK.require_antenna("charleroi-nord")
