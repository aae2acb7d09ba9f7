"""The commands the deployment relies on: `run --replicas` parsing, `broker-setup` through the
management HTTP API (docker-compose's one-shot step; a fake API records the calls) and the
image's `healthcheck`."""
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from lisa import broker, cli, platform
from shared import config, topology
from tests.conftest import ROOT


def test_replicas_per_service_are_parsed_and_checked():
    assert cli.parse_replicas("incidents=2, tags=3") == {"incidents": 2, "tags": 3}
    assert cli.parse_replicas("") == {} and cli.parse_replicas(None) == {}
    for wrong in ("nothing=2", "incidents=0", "incidents=two", "incidents"):
        with pytest.raises(ValueError):
            cli.parse_replicas(wrong)


def test_replica_ports_do_not_clash():
    ports = {cli.replica_port(name, k) for name in platform.names() for k in range(3)}
    assert len(ports) == 3 * len(platform.names())


class FakeManagementApi:
    def __init__(self, password="secret"):
        self.calls, self.password = [], password
        self.server = make_server("127.0.0.1", 0, self.app)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def app(self, environ, start_response):
        request = Request(environ)
        if request.authorization is None or request.authorization.password != self.password:
            return Response("", status=401)(environ, start_response)
        if request.method == "GET" and request.path == "/api/overview":
            return Response("{}", mimetype="application/json")(environ, start_response)
        raw_path = environ.get("REQUEST_URI") or environ.get("RAW_URI") or request.path
        self.calls.append((request.method, raw_path,
                           json.loads(request.data) if request.data else None))
        return Response("", status=201 if request.path.startswith("/api/users") else 204)(
            environ, start_response)


@pytest.fixture
def service_uris(monkeypatch):
    for spec in platform.specs():
        monkeypatch.setenv(config.SERVICE_AMQP_URI.name(spec.name),
                           f"pyamqp://{config.broker_user(spec.name)}:pw-{spec.name}"
                           "@rabbitmq:5672/")


def test_broker_setup_over_the_management_api_creates_each_user_with_its_permissions(
        service_uris, monkeypatch):
    api = FakeManagementApi()
    try:
        monkeypatch.setenv(config.RABBITMQ_API_URL.variable,
                           f"http://admin:secret@127.0.0.1:{api.port}/")
        users = broker.setup_users()
        assert users == [config.broker_user(spec.name) for spec in platform.specs()]
        classes = platform.service_classes()
        for spec in platform.specs():
            user = config.broker_user(spec.name)
            configure, write, read = topology.broker_permissions(spec.name, classes)
            assert ("PUT", f"/api/users/{user}", {"password": f"pw-{spec.name}", "tags": ""}) \
                in api.calls
            assert ("PUT", f"/api/permissions/%2F/{user}",
                    {"configure": configure, "write": write, "read": read}) in api.calls
            # the topic permissions too, after clearing the old ones (as rabbitmqctl's path)
            topics = topology.topic_permissions(spec.name, tuple(spec.publishes))
            assert topics
            assert ("DELETE", f"/api/topic-permissions/%2F/{user}", None) in api.calls
            for exchange, topic_write, topic_read in topics:
                assert ("PUT", f"/api/topic-permissions/%2F/{user}",
                        {"exchange": exchange, "write": topic_write, "read": topic_read}) \
                    in api.calls
        calls = len(api.calls)
        broker.setup_users()                  # idempotent: a second run sets the same again
        assert api.calls[calls:] == api.calls[:calls]
    finally:
        api.server.shutdown()


def test_broker_setup_over_the_management_api_says_why_it_fails(service_uris, monkeypatch):
    api = FakeManagementApi(password="other")
    try:
        monkeypatch.setenv(config.RABBITMQ_API_URL.variable,
                           f"http://admin:wrong@127.0.0.1:{api.port}/")
        with pytest.raises(broker.BrokerSetupError, match="does not answer"):
            broker.setup_users_over_http(config.RABBITMQ_API_URL.text(),
                                         broker.planned_users(), wait_seconds=0)
        with pytest.raises(broker.BrokerSetupError, match="must be"):
            broker.setup_users_over_http("rabbitmq:15672", [], wait_seconds=0)
    finally:
        api.server.shutdown()


def test_the_healthcheck_fails_when_the_service_does_not_answer(monkeypatch):
    port = FakeManagementApi().port   # answers 401 on /healthz: not healthy
    spec = platform.spec("tags")
    monkeypatch.setenv(platform.port_variable(spec), str(port))
    with pytest.raises(SystemExit, match="does not answer 200"):
        cli.main(["healthcheck", "tags"])
    with pytest.raises(SystemExit, match="not a registered service"):
        cli.main(["healthcheck", "nothing"])


def test_the_image_layout_migrates_and_checks_health_from_its_copied_source(tmp_path):
    """What deploy/Dockerfile copies into /app (its `COPY <folder> /app/<folder>` lines) is
    enough to run: migrations, reference data and the healthcheck found without the rest of
    the repository. The dependencies are this virtualenv's, as the image's are its build
    stage's."""
    app = tmp_path / "app"
    dockerfile = (Path(ROOT) / "deploy" / "Dockerfile").read_text()
    copied = re.findall(r"^COPY (\w+) /app/\1$", dockerfile, re.MULTILINE)
    assert copied, "the Dockerfile copies the source into /app"
    for folder in copied:
        shutil.copytree(Path(ROOT) / folder, app / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    work = tmp_path / "var"
    work.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("LISA_")}
    env.update(PYTHONPATH=str(app), LISA_VAR_DIR=str(work))

    def lisa(*args):
        return subprocess.run([sys.executable, "-m", "lisa.cli", *args], cwd=work, env=env,
                              capture_output=True, text=True, timeout=180)

    migrated = lisa("migrate")
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    assert {f"{spec.name}.db" for spec in platform.specs()} <= \
        {path.name for path in work.iterdir()}
    assert lisa("healthcheck").returncode == 0   # PID 1 here is no LISA service
    assert "not a registered service" in lisa("healthcheck", "nothing").stderr
