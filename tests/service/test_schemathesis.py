"""schemathesis against the OpenAPI document a running embedded platform serves: every
operation, as each of several roles, valid and invalid requests from a fixed seed. Every answer
must be a non-5xx that matches what the document says (status, content type, body schema).

The cases are collected from the generator of that document (one test per role and operation),
and fuzzed against the document the platform serves: four roles on SQLite (as `make demo` runs),
three on PostgreSQL (as production does; it refuses what SQLite lets through, e.g. NUL
characters in text), so every operation meets both. The platform sits behind one pretend proxy
(LISA_TRUSTED_PROXY_HOPS=1): the fuzzer's own logins come from 127.0.0.1 and soon meet the
login throttle (and its documented 429), while the test fetches its tokens from another
address. (schemathesis's own pytest integration, `from_fixture`, does not run under pytest 9.)
"""
import uuid

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from lisa import platform as registry
from lisa.local import drop_databases
from services.gateway.openapi import build_spec
from tests.conftest import POSTGRES_ADMIN_URL, require_service, running_platform

SEED = 458
EXAMPLES = 10          # per operation, role and mode (valid, invalid)
ROLES_BY_BACKEND = {"sqlite": ["desk", "tags", "coordinator", "auditor"],
                    "postgresql": ["admin", "streetworker", "police"]}
CASES = [(backend, user) for backend, users in ROLES_BY_BACKEND.items() for user in users]
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance]
TEST_CLIENT = {"X-Forwarded-For": "10.254.0.1"}
OPERATIONS = sorted(f"{method.upper()} {path}"
                    for path, methods in build_spec(registry.api_routes())["paths"].items()
                    for method in methods)


@pytest.fixture(scope="module")
def backend(request):
    return request.param


@pytest.fixture(scope="module")
def platform(backend, tmp_path_factory):
    env = {"LISA_TRUSTED_PROXY_HOPS": "1"}
    prefix = f"lisa_test_st_{uuid.uuid4().hex[:8]}"
    if backend == "postgresql":
        require_service("PostgreSQL", "127.0.0.1", 5432)
        env["LISA_DATABASE_URL"] = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{prefix}_{{service}}"
    try:
        with running_platform(tmp_path_factory.mktemp("schemathesis"), env=env) as api:
            yield api
    finally:
        if backend == "postgresql":
            drop_databases(POSTGRES_ADMIN_URL, prefix)


def fresh_token(platform, user: str) -> str:
    response = requests.post(platform.url("/api/v1/auth/token"), headers=TEST_CLIENT,
                             json={"username": user, "password": "demo"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture(scope="module")
def tokens(platform, backend):
    return {user: fresh_token(platform, user) for user in ROLES_BY_BACKEND[backend]}


@pytest.fixture(scope="module")
def served_schema(platform):
    schema = schemathesis.openapi.from_url(platform.url("/api/v1/openapi.json"))
    schema.config.update(base_url=platform.url("/").rstrip("/"))
    return schema


@pytest.mark.parametrize("backend", list(ROLES_BY_BACKEND), indirect=True, scope="module")
def test_every_operation_is_fuzzed(served_schema):
    served = sorted(result.ok().label for result in served_schema.get_all_operations())
    assert served == OPERATIONS and len(OPERATIONS) >= 30


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
@pytest.mark.parametrize("backend, user", CASES, indirect=["backend"], scope="module")
@pytest.mark.parametrize("label", OPERATIONS)
def test_no_server_error_and_answers_as_documented(served_schema, tokens, platform, label,
                                                   backend, user, mode):
    operation = served_schema.find_operation_by_label(label)
    is_revoke = operation.path == "/api/v1/auth/revoke"

    @seed(SEED)
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, derandomize=False, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    def fuzz(case):
        token = fresh_token(platform, user) if is_revoke else tokens[user]
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS,
                               timeout=30)

    fuzz()
