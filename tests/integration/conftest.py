"""Integration tests run against the real RabbitMQ and PostgreSQL on 127.0.0.1.

Each test gets a throwaway RabbitMQ vhost made with `rabbitmqctl` (the broker's own CLI, which
works with the management plugin off, as on a fresh machine), so runs never see each other's
queues. nameko's `rabbit_uri` fixture would need the management HTTP API; this one replaces it.
"""
import contextlib
import uuid

import pytest

from lisa.local import fresh_keys, rabbitmqctl
from tests.conftest import IN_CI, require_service


@pytest.fixture
def brokers_available():
    require_service("RabbitMQ", "127.0.0.1", 5672)
    require_service("PostgreSQL", "127.0.0.1", 5432)


@pytest.fixture
def rabbit_uri(brokers_available):
    """A fresh vhost, open to guest, deleted after the test."""
    with throwaway_vhost() as uri:
        yield uri


@pytest.fixture
def platform_env():
    """What the distributed platform of a test is given beyond broker, databases and ports: its
    own complete set of keys (a module may override this fixture to add settings)."""
    return fresh_keys()


@contextlib.contextmanager
def throwaway_vhost():
    vhost = f"lisa-test-{uuid.uuid4().hex[:10]}"
    try:
        rabbitmqctl("add_vhost", vhost)
    except (OSError, RuntimeError) as exc:
        message = f"rabbitmqctl cannot create a test vhost: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message + " (run as root or as the rabbitmq user)")
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        rabbitmqctl("delete_vhost", vhost)
