import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()  # before anything imports socket or threading

import contextlib  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import uuid  # noqa: E402
from urllib.parse import urljoin  # noqa: E402

import nameko  # noqa: E402
import pytest  # noqa: E402
import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

import shared.memory_transport  # noqa: E402  (registers lisa-memory://)
from lisa import platform  # noqa: E402
from shared.identity import Identity, context_for  # noqa: E402

platform.specs()  # the registry, loaded as every process loads it: each service's events known

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POSTGRES_ADMIN_URL = os.environ.get("LISA_TEST_POSTGRES_URL",
                                    "postgresql+psycopg2://127.0.0.1:5432/postgres")
RABBIT_AMQP = ("127.0.0.1", 5672)
ANTENNA = "ixelles-tulipe"
IN_CI = bool(os.environ.get("CI"))


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Integration tests need the real service: skip outside CI, fail in CI."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if IN_CI:
        pytest.fail(message + " (CI must run integration tests)")
    pytest.skip(message + "; start it to run integration tests")


def eventually(fetch, timeout: float = 30.0, interval: float = 0.05):
    """Call `fetch` until it returns something truthy; return that (or fail after `timeout`)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = fetch()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"nothing after {timeout}s")


@contextlib.contextmanager
def migrated_database(service: str, url: str):
    """A service's database at `url`: migrations applied, reference data seeded."""
    from shared import migrations
    from shared.db import Database

    spec = platform.spec(service)
    migrations.upgrade(spec, url)
    database = Database(spec.metadata, service=service).open(url)
    if spec.seed_reference is not None:
        with database.session() as session:
            spec.seed_reference(session, ANTENNA)
            session.commit()
    try:
        yield database
    finally:
        database.relay.close()
        database.engine.dispose()


@pytest.fixture
def web_session():
    """nameko's own fixture imports werkzeug.urls.url_join, gone in Werkzeug 3."""


class Api:
    """A small client of the gateway for tests: base URL, tokens per demo user."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()
        self._tokens = {}

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path)

    def token(self, username: str, password: str = "demo") -> str:
        if username not in self._tokens:
            response = self.session.post(self.url("/api/v1/auth/token"),
                                         json={"username": username, "password": password})
            assert response.status_code == 200, response.text
            self._tokens[username] = response.json()["access_token"]
        return self._tokens[username]

    def call(self, method: str, path: str, user: str | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if user:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        return self.session.request(method, self.url(path), headers=headers, timeout=30,
                                    **kwargs)


@pytest.fixture(scope="session")
def platform_keys():
    """One complete set of keys for the test session (lisa.local.fresh_keys)."""
    from lisa.local import fresh_keys

    return fresh_keys()


@pytest.fixture(scope="session", autouse=True)
def keyed_environment(platform_keys):
    """Every test runs with explicit keys, as a real deployment must (no key has a default);
    session-wide, so module-wide platforms have them too."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in platform_keys.items():
            patch.setenv(name, value)
        yield


@pytest.fixture
def identity_context():
    def make(role: str, organisation: str = "antenna_desk", user: str | None = None,
             antennas=(ANTENNA,)):
        return context_for(Identity(user or role, role, organisation, tuple(antennas)))

    return make


@pytest.fixture
def memory_broker():
    """A clean in-memory broker, configured for nameko."""
    shared.memory_transport.reset()
    with nameko.config.patch({"AMQP_URI": "lisa-memory://localhost/"}):
        os.environ["LISA_AMQP_URI"] = "lisa-memory://localhost/"
        yield "lisa-memory://localhost/"
    os.environ.pop("LISA_AMQP_URI", None)
    shared.memory_transport.reset()


@pytest.fixture
def var_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LISA_VAR_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url_factory(request, tmp_path):
    """Database URLs on both backends: the same contract tests run against each."""
    created = []
    if request.param == "sqlite":
        def make(service: str) -> str:
            return f"sqlite:///{tmp_path / service}.db"
    else:
        require_service("PostgreSQL", "127.0.0.1", 5432)
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT",
                              poolclass=NullPool)

        def make(service: str) -> str:
            name = f"lisa_test_{uuid.uuid4().hex[:10]}_{service}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            created.append(name)
            return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    make.backend = request.param
    yield make
    if created:
        with admin.connect() as connection:
            for name in created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def running_platform(var_path, only=None, env=None):
    """The whole platform in this process, as `make demo` runs it (without demo incidents)."""
    from nameko.runners import ServiceRunner

    from lisa import cli, demo
    from lisa.local import free_port
    from shared import config

    port = free_port()
    shared.memory_transport.reset()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LISA_VAR_DIR", str(var_path))
        patch.setenv("LISA_HTTP_PORT", str(port))
        patch.setenv("LISA_AMQP_URI", "lisa-memory://localhost/")
        for key, value in (env or {}).items():
            patch.setenv(key, value)
        cli.migrate()
        demo.seed_accounts(cli.database_for, ANTENNA)
        with nameko.config.patch(config.nameko_config()):
            runner = ServiceRunner()
            for cls in platform.service_classes(only):
                runner.add_service(cls)
            runner.start()
            try:
                yield Api(f"http://127.0.0.1:{port}/")
            finally:
                runner.kill()
                shared.memory_transport.reset()


@pytest.fixture
def embedded_platform(tmp_path):
    with running_platform(tmp_path) as api:
        yield api


@pytest.fixture(scope="module")
def shared_platform(tmp_path_factory):
    """One platform for a module whose tests only compare before and after."""
    with running_platform(tmp_path_factory.mktemp("platform")) as api:
        yield api
