"""A service that meets its database or the broker away answers an RPC with a RemoteError
naming the class: its callers treat that as transient (the gateway answers 503, a consumer
retries), and any other remote failure as the bug it is (found by make test-chaos, ADR 33)."""
import pytest
from nameko.exceptions import RemoteError

from shared.handlers import is_transient
from shared.http import answer_for
from shared.rpc import ServiceUnavailable


@pytest.mark.parametrize("remote", ["OperationalError", "InterfaceError", "ServiceUnavailable",
                                    "ConnectionRefusedError"])
def test_a_remote_infrastructure_failure_is_a_503_and_retried(remote):
    exc = RemoteError(remote, "server closed the connection unexpectedly")
    answer = answer_for(exc, "POST", "/api/v1/incidents")
    assert isinstance(answer, ServiceUnavailable) and answer.status == 503
    assert is_transient(exc)


@pytest.mark.parametrize("remote", ["KeyError", "IntegrityError", "AttributeError"])
def test_a_remote_bug_stays_a_500_and_is_not_retried(remote):
    exc = RemoteError(remote, "boom")
    assert answer_for(exc, "POST", "/api/v1/incidents").status == 500
    assert not is_transient(exc)
