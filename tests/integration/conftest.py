"""Integration tests run against the real RabbitMQ and PostgreSQL on 127.0.0.1.

Each test gets a throwaway RabbitMQ vhost made with `rabbitmqctl` (the broker's own CLI, which
works with the management plugin off, as on a fresh machine), so runs never see each other's
queues. nameko's `rabbit_uri` fixture would need the management HTTP API; this one replaces it.

`distributed_platform` is `make run` (`lisa.cli run`: migrations, then one process per
registered service) on that vhost and databases of its own, with every demo account; a module
adds settings by overriding `platform_env`.
"""
import contextlib
import os
import signal
import subprocess
import sys
import uuid

import pytest
import requests

from lisa import demo, platform
from lisa.local import (
    drop_databases,
    free_port,
    fresh_keys,
    rabbitmqctl,
    service_processes,
    stop_group,
    wait_ready,
)
from shared.db import Database
from tests.conftest import (
    ANTENNA,
    IN_CI,
    POSTGRES_ADMIN_URL,
    ROOT,
    Api,
    eventually,
    require_service,
)


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


class Deployment:
    """Every registered service under `lisa.cli run`, each at a port of its own."""

    def __init__(self, env: dict, ports: dict[str, int], log_path, process=None):
        self.env, self.ports, self.log_path, self.process = env, ports, log_path, process
        self.amqp_uri = env["LISA_AMQP_URI"]
        self.api = Api(self.url(platform.edge().name))

    def url(self, service: str, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.ports[service]}{path}"

    def metrics(self, service: str) -> str:
        return requests.get(self.url(service, "/metrics"), timeout=5).text

    def database_url(self, service: str) -> str:
        return self.env["LISA_DATABASE_URL"].replace("{service}", service)

    def database(self, service: str) -> Database:
        return Database(platform.spec(service).metadata, service=service).open(
            self.database_url(service))

    def wait_ready(self) -> None:
        for name in self.ports:
            wait_ready(self.url(name, "/readyz"), self.process)

    def kill(self, service: str) -> None:
        """SIGKILL the process running `service`; return when the one `lisa.cli run` starts
        in its place is ready."""
        killed = service_processes(self.process.pid)[service]
        os.kill(killed, signal.SIGKILL)
        eventually(lambda: service_processes(self.process.pid).get(service, killed) != killed,
                   timeout=60)
        wait_ready(self.url(service, "/readyz"), self.process)

    def restarts(self) -> int:
        """Services `lisa.cli run` found dead and started again."""
        return self.log_path.read_text().count("restarting it")

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "lisa.cli", *args], cwd=ROOT,
                              env=self.env, capture_output=True, text=True, timeout=180)


def deployment_env(rabbit_uri: str, prefix: str, tmp_path, extra: dict) -> tuple[dict, dict]:
    """The environment of a deployment on `rabbit_uri` with databases `<prefix>_<service>`, and
    the port each registered service serves its HTTP endpoints on."""
    ports = {spec.name: free_port() for spec in platform.specs()}
    env = {**os.environ, "LISA_AMQP_URI": rabbit_uri,
           "LISA_DATABASE_URL": f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{prefix}_{{service}}",
           "LISA_VAR_DIR": str(tmp_path), "PYTHONPATH": str(ROOT),
           **{platform.port_variable(spec): str(ports[spec.name]) for spec in platform.specs()},
           **extra}
    return env, ports


@pytest.fixture
def distributed_platform(brokers_available, rabbit_uri, platform_env, tmp_path):
    prefix = f"lisa_it_{uuid.uuid4().hex[:8]}"
    env, ports = deployment_env(rabbit_uri, prefix, tmp_path, platform_env)
    log_path = tmp_path / "platform.log"
    log = open(log_path, "w")
    process = subprocess.Popen([sys.executable, "-m", "lisa.cli", "run"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deployment = Deployment(env, ports, log_path, process)
    try:
        deployment.wait_ready()
        demo.seed_accounts(deployment.database, ANTENNA)
        yield deployment
    finally:
        stop_group(process)
        log.close()
        print(log_path.read_text()[-4000:])
        drop_databases(POSTGRES_ADMIN_URL, prefix)


# -- one broker user per service (broker-setup) ---------------------------------------------------

def user_env(rabbit_uri: str) -> dict:
    """Each service's own URI on the test vhost, with a prefix of its own for the users."""
    vhost = rabbit_uri.rsplit("/", 1)[1]
    prefix = f"lisa-t{uuid.uuid4().hex[:6]}-"
    env = {"LISA_BROKER_USER_PREFIX": prefix, "LISA_AMQP_URI": rabbit_uri}
    for spec in platform.specs():
        password = uuid.uuid4().hex
        env[f"LISA_{spec.name.upper()}_AMQP_URI"] = \
            f"pyamqp://{prefix}{spec.name}:{password}@127.0.0.1:5672/{vhost}"
    return env


@pytest.fixture
def broker_users(rabbit_uri):
    """The environment of services that each connect as their own broker user (not yet set up:
    `broker-setup` does that); the users are deleted after the test."""
    env = user_env(rabbit_uri)
    try:
        yield env
    finally:
        prefix = env["LISA_BROKER_USER_PREFIX"]
        for spec in platform.specs():
            try:
                rabbitmqctl("delete_user", f"{prefix}{spec.name}")
            except RuntimeError:
                pass


def cli(env, *args):
    return subprocess.run([sys.executable, "-m", "lisa.cli", *args], cwd=ROOT,
                          env={**os.environ, **env, "PYTHONPATH": ROOT}, capture_output=True,
                          text=True, timeout=180)
