import pytest

from tests.conftest import require_service


@pytest.fixture
def brokers_available():
    require_service("RabbitMQ", "127.0.0.1", 5672)
    require_service("RabbitMQ management API", "127.0.0.1", 15672)
    require_service("PostgreSQL", "127.0.0.1", 5432)
