"""One private RabbitMQ node and PostgreSQL cluster for the whole chaos session (each takes
seconds to start on a busy machine); every test makes its own vhost and databases on them."""
import shutil

import pytest

from tests.chaos import private
from tests.conftest import IN_CI


@pytest.fixture(scope="session")
def private_infrastructure():
    why = private.available()
    if why:
        if IN_CI:
            pytest.fail(why)
        pytest.skip(why)
    base = private.temporary_base()
    rabbit, postgres = private.PrivateRabbit(base), private.PrivatePostgres(base)
    try:
        postgres.start()
        rabbit.start()
        yield base, rabbit, postgres
    finally:
        rabbit.stop()
        postgres.stop()
        shutil.rmtree(base, ignore_errors=True)
