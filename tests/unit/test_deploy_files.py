"""The deployment files (docs/adr/0031-deploy-one-image-compose-and-kubernetes.md) checked
without a Docker engine or a cluster: generated from the registry and committed as generated,
docker-compose.yml valid against the Compose specification's JSON schema, both Kubernetes
overlays built by `kubectl kustomize` and valid against the Kubernetes schemas
(kubernetes-validate --strict) and the operators' resources against the schema of the fields
they use (deploy/schemas/operators.json); every registered service has its container, keys,
healthcheck, Deployment, probes, scrape entry, broker user and database."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from lisa import deploy, platform
from shared import config, topology
from tests.conftest import IN_CI, ROOT

ROOT_PATH = Path(ROOT)
SCHEMAS = ROOT_PATH / "deploy" / "schemas"
KUBERNETES_VERSION = "1.32.0"
OPERATOR_KINDS = {"rabbitmq.com/v1beta1", "postgresql.cnpg.io/v1"}


def compose() -> dict:
    return yaml.safe_load((ROOT_PATH / "docker-compose.yml").read_text())


# -- generated and committed -------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["compose", "k8s"])
def test_the_committed_deployment_files_are_what_the_registry_generates(kind):
    stale = [str(path.relative_to(ROOT_PATH)) for path, text in
             deploy.generated_files(kind).items()
             if not path.exists() or path.read_text() != text]
    assert not stale, f"regenerate with `make deploy-files`: {stale}"
    if kind == "k8s":
        committed = {path.name for path in deploy.K8S_SERVICES_DIR.glob("*.yaml")}
        assert committed == {path.name for path in deploy.generated_files("k8s")}


def test_a_service_registered_later_gets_its_files_without_an_edit(monkeypatch):
    """The generators loop over the registry: with a service fewer, its entries disappear."""
    fewer = tuple(name for name in platform.SERVICES if name != "referrals")
    monkeypatch.setattr(platform, "SERVICES", fewer)
    assert "referrals" not in deploy.compose_config()["services"]
    assert "referrals.yaml" not in deploy.k8s_files()
    assert "REFERRALS_BROKER_PASSWORD" not in deploy.env_example_text()
    assert "incidents" in deploy.compose_config()["services"]


# -- docker-compose -----------------------------------------------------------------------------

def test_the_compose_file_is_valid_against_the_compose_specification():
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(compose())]
    assert not errors


def test_the_compose_schema_rejects_what_compose_would_reject():
    """The schema is not vacuous: a misspelt key or a wrong depends_on condition fail."""
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    broken = compose()
    broken["services"]["gateway"]["helthcheck"] = {}
    assert not validator.is_valid(broken)
    broken = compose()
    broken["services"]["gateway"]["depends_on"]["migrate"]["condition"] = "finished"
    assert not validator.is_valid(broken)


def test_every_registered_service_has_its_container_healthcheck_and_environment():
    services = compose()["services"]
    for spec in platform.specs():
        entry = services[spec.name]
        assert entry["image"].startswith(deploy.IMAGE) and \
            entry["build"]["dockerfile"] == "deploy/Dockerfile"
        assert entry["command"] == ["service", spec.name]
        assert entry["healthcheck"]["test"][-2:] == ["healthcheck", spec.name]
        env = entry["environment"]
        uri = env[config.SERVICE_AMQP_URI.name(spec.name)]
        assert uri.startswith(f"pyamqp://{deploy.broker_user(spec.name)}:${{")
        assert env["LISA_DATABASE_URL"].endswith("/lisa_{service}")
        assert env[platform.port_variable(spec)] == str(platform.default_port(spec))
        assert env["LISA_HTTP_HOST"] == "0.0.0.0"
        for variable in [*platform.key_variables([spec.name]), config.AUDIENCE_VARIABLE]:
            # a key comes only from .env, and compose refuses to start without it
            assert env[variable].startswith(f"${{{variable}:?"), variable
        others = {config.signing_key_variable(o.name) for o in platform.specs()} - \
            {config.signing_key_variable(spec.name)}
        assert not others & set(env), "a service is given another's signing key"
        if not spec.seals_content:
            assert config.ENCRYPTION_KEYS_VARIABLE not in env
        for setting in spec.settings:
            assert deploy._setting_variable(setting, spec) in env
        assert entry["depends_on"] == {
            "rabbitmq": {"condition": "service_healthy"},
            "postgres": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
            "broker-setup": {"condition": "service_completed_successfully"}}
    edge = platform.edge()
    assert services[edge.name]["ports"] == [
        f"${{LISA_PUBLISHED_PORT:-{platform.default_port(edge)}}}:{platform.default_port(edge)}"]
    published = [name for name, entry in services.items()
                 if any(not str(p).startswith("127.0.0.1:") for p in entry.get("ports", []))]
    assert published == [edge.name], "only the gateway is reachable from outside the host"


def test_the_infrastructure_of_the_compose_file():
    services = compose()["services"]
    for name in ("rabbitmq", "postgres", "prometheus", "grafana"):
        assert services[name]["healthcheck"]["test"], name
    assert services["rabbitmq"]["image"].endswith("-management")
    assert "./deploy/rabbitmq/rabbitmq.conf:/etc/rabbitmq/conf.d/90-lisa.conf:ro" in \
        services["rabbitmq"]["volumes"]
    conf = (ROOT_PATH / "deploy" / "rabbitmq" / "rabbitmq.conf").read_text()
    assert re.search(r"^default_queue_type = quorum$", conf, re.MULTILINE)
    assert any(v.startswith("postgres-data:") for v in services["postgres"]["volumes"])
    assert services["migrate"]["command"] == ["migrate"]
    assert services["broker-setup"]["command"] == ["broker-setup"]
    setup_env = services["broker-setup"]["environment"]
    assert config.RABBITMQ_API_URL.variable in setup_env
    for spec in platform.specs():
        assert setup_env[config.SERVICE_AMQP_URI.name(spec.name)] == \
            services[spec.name]["environment"][config.SERVICE_AMQP_URI.name(spec.name)]
    assert "./deploy/prometheus:/etc/prometheus/lisa:ro" in services["prometheus"]["volumes"]
    for volume in services["grafana"]["volumes"]:
        if volume.startswith("./"):   # every folder Grafana is given exists
            assert (ROOT_PATH / volume.split(":")[0]).is_dir(), volume
    datasources = yaml.safe_load((ROOT_PATH / "deploy" / "grafana" / "compose" / "datasources" /
                                  "lisa.yml").read_text())["datasources"]
    provisioned = yaml.safe_load((ROOT_PATH / "deploy" / "grafana" / "provisioning" /
                                  "datasources" / "lisa.yml").read_text())["datasources"]
    # the dashboards name their data source by uid: compose's must be the same one
    assert [d["uid"] for d in datasources] == [d["uid"] for d in provisioned]
    assert datasources[0]["url"] == "http://prometheus:9090"


def test_the_gateway_is_given_its_trusted_proxy_hops_from_env():
    """Review of issues 7, 8 and 13, finding 4: the guide tells operators to set
    LISA_TRUSTED_PROXY_HOPS, which must then reach the edge's container (default 0)."""
    variable = config.TRUSTED_PROXY_HOPS.variable
    services = compose()["services"]
    assert services[platform.edge().name]["environment"][variable] == f"${{{variable}:-0}}"
    example = (ROOT_PATH / ".env.example").read_text().splitlines()
    assert f"{variable}=0" in example


def test_prometheus_starts_without_waiting_for_healthy_services():
    """Finding 7: Prometheus waiting for every service to be healthy could never report the one
    that is not (`up == 0`)."""
    depends = compose()["services"]["prometheus"]["depends_on"]
    assert depends and all(d == {"condition": "service_started"} for d in depends.values())


def test_the_operator_tools_read_as_administrator_and_replay_as_each_service():
    """Finding 1: `docker compose run --rm operator dlq-replay` has the administrator's URI (to
    read the dead letters) and every service's own (to replay as the consumer), and `up` does
    not start it."""
    services = compose()["services"]
    operator = services["operator"]
    assert operator["profiles"] == ["tools"]
    assert operator["environment"]["LISA_AMQP_URI"].startswith(
        f"pyamqp://{deploy.BROKER_ADMIN}:")
    for spec in platform.specs():
        variable = config.SERVICE_AMQP_URI.name(spec.name)
        assert operator["environment"][variable] == services[spec.name]["environment"][variable]


def test_the_compose_prometheus_scrapes_every_service_at_its_container():
    scrape = yaml.safe_load((ROOT_PATH / "deploy" / "prometheus" / "compose.yml").read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"]
               for job in scrape["scrape_configs"]}
    assert scrape["rule_files"] == ["rules/*.yml"] and \
        list((ROOT_PATH / "deploy" / "prometheus" / "rules").glob("*.yml"))
    assert targets == {f"lisa-{s.name}": [f"{s.name}:{platform.default_port(s)}"]
                       for s in platform.specs()}


def test_the_env_example_names_every_variable_the_compose_file_reads_and_holds_no_secret():
    text = (ROOT_PATH / ".env.example").read_text()
    named = dict(line.split("=", 1) for line in text.splitlines()
                 if line and not line.startswith("#"))
    used = deploy.compose_variables((ROOT_PATH / "docker-compose.yml").read_text())
    assert set(used) == set(named) - {"COMPOSE_PROJECT_NAME"}
    assert named["COMPOSE_PROJECT_NAME"] == deploy.PROJECT_NAME
    for variable in [*deploy.local.fresh_keys(), *[v for v in used if v.endswith("PASSWORD")]]:
        assert named[variable] == "", f"{variable} has a value in .env.example"


def test_a_filled_env_has_every_key_and_a_password_for_each_broker_user():
    values = dict(line.split("=", 1)
                  for line in deploy.env_example_text(deploy.fresh_env()).splitlines()
                  if line and not line.startswith("#"))
    for spec in platform.specs():
        password = values[deploy.broker_password_variable(spec.name)]
        assert re.fullmatch(r"[0-9a-f]{48}", password)
        assert values[config.signing_key_variable(spec.name)]
    assert values[config.PUBLIC_KEYS_VARIABLE] and values[config.ENCRYPTION_KEYS_VARIABLE]


def test_the_image_is_multi_stage_slim_non_root_keyless_and_checks_its_health():
    dockerfile = (ROOT_PATH / "deploy" / "Dockerfile").read_text()
    instructions = [line for line in dockerfile.splitlines()
                    if line and not line.startswith((" ", "#"))]
    froms = [line for line in instructions if line.startswith("FROM ")]
    assert len(froms) >= 2 and all(line.startswith("FROM python:3.11-slim") for line in froms)
    user = [line for line in instructions if line.startswith("USER ")]
    assert user and user[-1].split()[1].split(":")[0] not in ("0", "root")
    assert any(line.startswith("HEALTHCHECK ") for line in instructions)
    assert "healthcheck" in dockerfile[dockerfile.index("HEALTHCHECK"):]
    copied = [line.split()[1] for line in instructions if line.startswith("COPY ")
              and "--from" not in line]
    assert not [c for c in copied if "env" in c.lower() or "key" in c.lower() or c == "."]
    # the source of every registered service, its migrations included, is in the image
    for spec in platform.specs():
        top = spec.migrations.relative_to(ROOT_PATH).parts[0]
        assert top in copied
    ignored = (ROOT_PATH / ".dockerignore").read_text().splitlines()
    assert ignored[[i for i, line in enumerate(ignored) if not line.startswith("#")][0]] == "*"
    assert "**/.env" in ignored


# -- Kubernetes ---------------------------------------------------------------------------------

def kustomize(overlay: str) -> list[dict]:
    if shutil.which("kubectl") is None:
        message = "kubectl is not installed: the Kubernetes overlays are not built"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    built = subprocess.run(["kubectl", "kustomize", str(ROOT_PATH / "k8s" / "overlays" / overlay)],
                           capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    return [doc for doc in yaml.safe_load_all(built.stdout) if doc]


@pytest.fixture(scope="module", params=["dev", "prod"])
def overlay(request):
    return request.param, kustomize(request.param)


def operator_schema(resource: dict) -> dict:
    schema = json.loads((SCHEMAS / "operators.json").read_text())
    key = f"{resource['apiVersion']}/{resource['kind']}"
    assert key in schema["kinds"], f"no schema for {key}"
    return {**schema["kinds"][key], "$defs": schema["$defs"]}


def test_both_overlays_are_valid_kubernetes_and_operator_resources(overlay):
    name, documents = overlay
    problems = []
    for resource in documents:
        where = f"{name}: {resource['kind']}/{resource['metadata']['name']}"
        if resource["apiVersion"].rsplit("/", 1)[0] in {k.rsplit("/", 1)[0]
                                                        for k in OPERATOR_KINDS}:
            validator = jsonschema.Draft202012Validator(operator_schema(resource))
            problems += [f"{where}: {e.message}" for e in validator.iter_errors(resource)]
            continue
        try:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{where}: {exc.message}")
    assert not problems


def test_the_validators_reject_a_wrong_resource():
    """Neither check is vacuous: an unknown field fails both."""
    documents = kustomize("dev")
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    cluster = next(d for d in documents if d["kind"] == "RabbitmqCluster")
    cluster["spec"]["replica"] = 3
    assert not jsonschema.Draft202012Validator(operator_schema(cluster)).is_valid(cluster)


def by_kind(documents: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}


def test_every_registered_service_has_its_deployment_probes_scrape_entry_and_more(overlay):
    name, documents = overlay
    deployments = by_kind(documents, "Deployment")
    for spec in platform.specs():
        resource = f"lisa-{spec.name}"
        deployment = deployments[resource]
        pod = deployment["spec"]["template"]
        [container] = pod["spec"]["containers"]
        port = platform.default_port(spec)
        assert container["args"] == ["service", spec.name]
        assert container["ports"] == [{"name": "http", "containerPort": port}]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["resources"]["requests"]["memory"] and \
            container["resources"]["limits"]["memory"]
        assert pod["metadata"]["annotations"] == {
            "prometheus.io/scrape": "true", "prometheus.io/port": str(port),
            "prometheus.io/path": "/metrics"}
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        env = {e["name"]: e for e in container["env"]}
        for variable in [*platform.key_variables([spec.name]), config.AUDIENCE_VARIABLE]:
            assert env[variable]["valueFrom"]["secretKeyRef"] == {
                "name": deploy.KEYS_SECRET, "key": variable}
        assert f"@{deploy.RABBITMQ_CLUSTER}:5672/" in \
            env[config.SERVICE_AMQP_URI.name(spec.name)]["value"]
        assert f"@{deploy.POSTGRES_CLUSTER}-rw:5432/" in env["LISA_DATABASE_URL"]["value"]
        assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == \
            f"{deploy.POSTGRES_CLUSTER}-app"
        assert any(ref.get("configMapRef", {}).get("name", "").startswith(deploy.CONFIG_MAP)
                   for ref in container["envFrom"])
        for kind in ("Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "User",
                     "Permission", "Database"):
            assert resource in by_kind(documents, kind), f"{name}: no {kind} for {spec.name}"
        permission = by_kind(documents, "Permission")[resource]["spec"]["permissions"]
        configure, write, read = topology.broker_permissions(spec.name,
                                                             platform.service_classes())
        assert permission == {"configure": configure, "write": write, "read": read}
        user = by_kind(documents, "User")[resource]["spec"]
        assert user["importCredentialsSecret"] == {"name": f"lisa-broker-{spec.name}"}
        assert by_kind(documents, "Database")[resource]["spec"]["name"] == f"lisa_{spec.name}"
    assert "lisa-migrate" in by_kind(documents, "Job")


def test_every_broker_user_has_the_topic_permissions_broker_setup_gives(overlay):
    """Review of issues 7, 8 and 13, finding 2: without TopicPermissions a service's user may
    bind `#` on nameko-rpc (every request's identity, every reply) and publish any event type
    on its own exchange. Each (service, exchange) of `topology.topic_permissions` has one."""
    name, documents = overlay
    granted: dict[tuple[str, str], dict] = {}
    for resource in by_kind(documents, "TopicPermission").values():
        spec = resource["spec"]
        assert spec["rabbitmqClusterReference"] == {"name": deploy.RABBITMQ_CLUSTER}
        key = (spec["userReference"]["name"], spec["permissions"]["exchange"])
        assert key not in granted, f"{name}: two TopicPermissions for {key}"
        granted[key] = {"write": spec["permissions"]["write"],
                        "read": spec["permissions"]["read"]}
    wanted = {(f"lisa-{spec.name}", exchange): {"write": write, "read": read}
              for spec in platform.specs()
              for exchange, write, read in topology.topic_permissions(spec.name,
                                                                      tuple(spec.publishes))}
    assert granted == wanted
    assert ("lisa-tags", "nameko-rpc") in granted and \
        granted[("lisa-tags", "nameko-rpc")]["read"] != ".*"


def test_the_overlays_differ_where_they_should():
    dev, prod = kustomize("dev"), kustomize("prod")
    assert by_kind(dev, "RabbitmqCluster")["lisa-rabbitmq"]["spec"]["replicas"] == 1
    assert by_kind(prod, "RabbitmqCluster")["lisa-rabbitmq"]["spec"]["replicas"] == 3
    assert by_kind(dev, "Cluster")["lisa-pg"]["spec"]["instances"] == 1
    assert by_kind(prod, "Cluster")["lisa-pg"]["spec"]["instances"] == 3
    for documents in (dev, prod):
        config_text = by_kind(documents, "RabbitmqCluster")["lisa-rabbitmq"]["spec"][
            "rabbitmq"]["additionalConfig"]
        assert "default_queue_type = quorum" in config_text
    assert {d["spec"]["replicas"] for d in by_kind(dev, "Deployment").values()} == {1}
    assert min(h["spec"]["minReplicas"] for h in by_kind(prod, "HorizontalPodAutoscaler")
               .values()) >= 2
    assert {d["metadata"]["namespace"] for d in dev} == {"lisa-dev"}
    assert {d["metadata"]["namespace"] for d in prod} == {"lisa-prod"}


def test_only_the_gateway_is_reachable_and_only_lisa_pods_reach_the_broker_and_database():
    documents = kustomize("prod")
    policies = by_kind(documents, "NetworkPolicy")
    assert policies["lisa-default-deny-ingress"]["spec"]["podSelector"] == {}
    open_to_all = [p["spec"]["podSelector"] for p in policies.values()
                   for rule in p["spec"].get("ingress", []) if "from" not in rule]
    assert open_to_all == [{"matchLabels": {"lisa.io/edge": "true"}}]
    edge_pods = [name for name, d in by_kind(documents, "Deployment").items()
                 if d["spec"]["template"]["metadata"]["labels"].get("lisa.io/edge") == "true"]
    assert edge_pods == [f"lisa-{platform.edge().name}"]
    broker = policies["lisa-rabbitmq-from-services"]["spec"]["ingress"]
    assert {"podSelector": {"matchLabels": {"lisa.io/broker-client": "true"}}} in \
        broker[0]["from"] and broker[0]["ports"] == [{"port": 5672}]
    database = policies["lisa-postgres-from-services"]["spec"]["ingress"]
    assert database[0]["from"] == [{"podSelector": {"matchLabels":
                                                    {"lisa.io/database-client": "true"}}}]
