"""The registry (lisa/platform.py) and the service specs (services/<name>/spec.py): every service
folder is registered, every spec has every piece, no two clash, and what is generated from them
(the Prometheus configuration) is what they say."""
import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import MetaData

from lisa import platform
from services.gateway.service import ResourceClash, serving
from shared import events
from shared.config import Setting
from shared.http import api
from shared.rpc import ServiceClient

ROOT = Path(__file__).resolve().parents[2]


def test_every_service_folder_is_registered_and_every_registered_service_is_a_folder():
    folders = {path.name for path in (ROOT / "services").iterdir()
               if path.is_dir() and any(path.glob("*.py"))}
    assert folders == set(platform.SERVICES)
    for name in platform.SERVICES:
        assert (ROOT / "services" / name / "spec.py").is_file()


def test_the_registered_specs_are_complete_and_clash_nowhere():
    assert platform.problems(platform.specs()) == []
    for spec in platform.specs():
        for event_type, declared in spec.publishes.items():
            assert events.EVENT_TYPES[(spec.name, event_type)] == declared
        for source, event_type in spec.consumes:
            assert (source, event_type) in events.EVENT_TYPES


def _with(name, **changes):
    return [dataclasses.replace(spec, **changes) if spec.name == name else spec
            for spec in platform.specs()]


@pytest.mark.parametrize("specs, problem", [
    (lambda: _with("tags", ops=None), "tags: no ops class and port"),
    (lambda: _with("tags", ops_port=None), "tags: no ops class and port"),
    (lambda: _with("tags", metadata=MetaData()), "tags: no tables in its metadata"),
    (lambda: _with("tags", migrations=ROOT / "docs"), "tags: no Alembic folder"),
    (lambda: _with("tags", seed_demo=None), "tags: no demo seeding"),
    (lambda: _with("referrals", reseal=None), "referrals: seals content but cannot re-encrypt"),
    (lambda: _with("tags", routes=()), "tags: an API (RPC entrypoints) but no REST resources"),
    (lambda: _with("tags", publishes={"job_created": dict}),
     "tags: job_created needs (schema version, PayloadSchema)"),
    (lambda: _with("referrals", ops_port=8002), "port 8002 is claimed by tags and referrals"),
    (lambda: _with("referrals", ops_port=8000), "port 8000 is claimed by the HTTP edge"),
    (lambda: _with("referrals", publishes={"job_created": (1, events.PayloadSchema)}),
     "the event type 'job_created' is claimed by tags and referrals"),
    (lambda: _with("incidents", publishes={}),
     "tags consumes incidents.incident_reported, which no registered service publishes"),
    (lambda: _with("tags", settings=(Setting("LISA_HTTP_PORT", "1", "again"),)),
     "LISA_HTTP_PORT is claimed by shared/config.py and tags"),
    (lambda: _with("tags", settings=("LISA_SOMETHING",)), "tags: setting 'LISA_SOMETHING'"),
    (lambda: _with("tags", service=platform.spec("incidents").service),
     "tags: its service class is not the nameko service 'tags'"),
    (lambda: _with("tags", serves_routes=serving), "exactly one service must serve"),
    (lambda: [s for s in platform.specs() if s.name != "gateway"],
     "exactly one service must serve"),
])
def test_a_spec_missing_a_piece_or_clashing_is_refused(specs, problem):
    found = platform.problems(specs())
    assert any(problem in line for line in found), found


def test_the_gateway_refuses_two_resources_that_clash():
    class Mine:
        incidents = ServiceClient("tags")   # the name another resource uses for incidents

    class Again:
        @api("GET", "/api/v1/categories", summary="again", tag="x")
        def categories_again(self, request, identity):
            return []

    class Hiding:
        def authenticate(self, request):
            return None

    incidents = platform.spec("incidents").routes
    for resources, message in (((*incidents, Mine), "Mine.incidents is also"),
                               ((*incidents, Again), "GET /api/v1/categories is served by"),
                               ((Hiding,), "Hiding.authenticate hides the gateway's own")):
        with pytest.raises(ResourceClash, match=message):
            serving(resources)


def test_the_committed_prometheus_configuration_is_what_the_registry_says():
    committed = (ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text()
    assert committed == platform.prometheus_config(), \
        "regenerate: python -m lisa.cli prometheus-config > deploy/prometheus/prometheus.yml"
    for spec in platform.specs():
        assert f"127.0.0.1:{platform.default_port(spec)}" in committed
