"""Deployment files generated from the registry (docs/adr/0031-deploy-one-image-compose-and-
kubernetes.md): `docker-compose.yml` and `.env.example` for a commune's one server
(`lisa.cli compose`), and `k8s/base/services/` for a region's Kubernetes (`lisa.cli k8s`).

Everything per service comes from `platform.specs()`: a service registered later gets its
container, healthcheck, keys, broker user, database, Deployment, probes and scrape entry without
an edit here. tests/unit/test_deploy_files.py fails when a committed file differs from what these
functions generate.
"""
import re
import secrets
from pathlib import Path

import yaml

from lisa import local, platform
from shared import config, topology
from shared.spec import ServiceSpec

ROOT = config.PROJECT_ROOT
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE_FILE = ROOT / ".env.example"
K8S_SERVICES_DIR = ROOT / "k8s" / "base" / "services"
SCRAPE_FILE = ROOT / "deploy" / "prometheus" / "compose.yml"

IMAGE = "lisa-platform"
PROJECT_NAME = "lisa"
RABBITMQ_IMAGE = "rabbitmq:4.1-management"
POSTGRES_IMAGE = "postgres:16"
PROMETHEUS_IMAGE = "prom/prometheus:v3.5.0"
GRAFANA_IMAGE = "grafana/grafana:12.1.0"

# The operator's own broker user (compose: RabbitMQ's first user; it declares the event queues in
# `migrate` and creates the services' users in `broker-setup`) and PostgreSQL's.
BROKER_ADMIN = "lisa-admin"
DATABASE_USER = "lisa"

# Kubernetes names: the operators' resources and what they generate.
RABBITMQ_CLUSTER = "lisa-rabbitmq"          # RabbitmqCluster: Service lisa-rabbitmq
POSTGRES_CLUSTER = "lisa-pg"                # CNPG Cluster: Service lisa-pg-rw, Secret lisa-pg-app
KEYS_SECRET = "lisa-keys"                   # `lisa.cli keys`, made by the operator
CONFIG_MAP = "lisa-config"

# Requests and limits from the measured resident memory of one service process (deploy/README.md,
# Scaling: 142-181 MiB after tests/integration/test_replicas.py's traffic, the gateway the
# largest), with room for a burst of workers.
RESOURCES = {"requests": {"cpu": "100m", "memory": "256Mi"},
             "limits": {"cpu": "1", "memory": "512Mi"}}

GENERATED = ("Generated from the registry (lisa/platform.py) by `python -m lisa.cli {command}`; "
             "do not edit:\n# tests/unit/test_deploy_files.py checks it is what the registry "
             "says.\n")


def broker_password_variable(name: str) -> str:
    """The .env variable holding a service's broker password (compose only: Kubernetes keeps it
    in the Secret `lisa-broker-<name>`)."""
    return f"{name.upper()}_BROKER_PASSWORD"


def broker_user(name: str) -> str:
    """As `config.broker_user` with the default prefix: the files must not depend on who
    generates them."""
    return f"{config.BROKER_USER_PREFIX.default}{name}"


def _required(variable: str) -> str:
    return f"${{{variable}:?set {variable} in .env (see .env.example)}}"


def service_settings(c: ServiceSpec) -> list[config.Setting]:
    return list(c.settings)


def _setting_variable(setting: config.Setting, c: ServiceSpec) -> str:
    return setting.name(c.name) if config.SERVICE_PLACEHOLDER in setting.variable \
        else setting.variable


# -- docker-compose --------------------------------------------------------------------------------

def _healthcheck(test: list[str], start: str = "60s") -> dict:
    return {"test": test, "interval": "15s", "timeout": "5s", "retries": 5, "start_period": start}


def _database_url() -> str:
    return (f"postgresql://{DATABASE_USER}:{_required('POSTGRES_PASSWORD')}@postgres:5432/"
            "lisa_{service}")


def _service_amqp_uri(name: str) -> str:
    return (f"pyamqp://{broker_user(name)}:{_required(broker_password_variable(name))}"
            "@rabbitmq:5672/")


def _admin_amqp_uri() -> str:
    return f"pyamqp://{BROKER_ADMIN}:{_required('RABBITMQ_ADMIN_PASSWORD')}@rabbitmq:5672/"


def _lisa_image() -> dict:
    return {"image": f"{IMAGE}:${{LISA_IMAGE_TAG:-latest}}",
            "build": {"context": ".", "dockerfile": "deploy/Dockerfile"}}


def _common_env() -> dict:
    return {"LISA_ANTENNA_ID": "${LISA_ANTENNA_ID:-ixelles-tulipe}",
            "LISA_ANTENNAS": "${LISA_ANTENNAS:-}",
            "LISA_LOG_LEVEL": "${LISA_LOG_LEVEL:-INFO}",
            "LISA_DATABASE_URL": _database_url()}


def compose_service_env(c: ServiceSpec) -> dict:
    """What the container of one service is given: its own broker user, the databases, its
    port, only the keys it needs (ADR 12) and its own settings."""
    env = {**_common_env(),
           config.SERVICE_AMQP_URI.name(c.name): _service_amqp_uri(c.name),
           "LISA_HTTP_HOST": "0.0.0.0",
           platform.port_variable(c): str(platform.default_port(c))}
    for variable in [*platform.key_variables([c.name]), config.AUDIENCE_VARIABLE]:
        env[variable] = _required(variable)
    for setting in service_settings(c):
        variable = _setting_variable(setting, c)
        env[variable] = f"${{{variable}:-{setting.default or ''}}}"
    return env


def compose_config() -> dict:
    specs = platform.specs()
    edge = platform.edge()
    ready = {"rabbitmq": {"condition": "service_healthy"},
             "postgres": {"condition": "service_healthy"}}
    services: dict[str, dict] = {
        "rabbitmq": {
            "image": RABBITMQ_IMAGE,
            "hostname": "rabbitmq",
            "environment": {"RABBITMQ_DEFAULT_USER": BROKER_ADMIN,
                            "RABBITMQ_DEFAULT_PASS": _required("RABBITMQ_ADMIN_PASSWORD")},
            "volumes": ["./deploy/rabbitmq/rabbitmq.conf:/etc/rabbitmq/conf.d/90-lisa.conf:ro",
                        "rabbitmq-data:/var/lib/rabbitmq"],
            "healthcheck": _healthcheck(["CMD", "rabbitmq-diagnostics", "-q",
                                         "check_port_connectivity"], "30s"),
            "restart": "unless-stopped",
        },
        "postgres": {
            "image": POSTGRES_IMAGE,
            "environment": {"POSTGRES_USER": DATABASE_USER,
                            "POSTGRES_PASSWORD": _required("POSTGRES_PASSWORD"),
                            "POSTGRES_DB": DATABASE_USER},
            "volumes": ["postgres-data:/var/lib/postgresql/data"],
            "healthcheck": _healthcheck(["CMD", "pg_isready", "-U", DATABASE_USER, "-d",
                                         DATABASE_USER], "20s"),
            "restart": "unless-stopped",
        },
        "migrate": {
            **_lisa_image(),
            "command": ["migrate"],
            "environment": {**_common_env(), "LISA_AMQP_URI": _admin_amqp_uri()},
            "depends_on": ready,
            "restart": "on-failure",
        },
        "broker-setup": {
            **_lisa_image(),
            "command": ["broker-setup"],
            "environment": {
                config.RABBITMQ_API_URL.variable:
                    f"http://{BROKER_ADMIN}:{_required('RABBITMQ_ADMIN_PASSWORD')}"
                    "@rabbitmq:15672/",
                **{config.SERVICE_AMQP_URI.name(c.name): _service_amqp_uri(c.name)
                   for c in specs}},
            "depends_on": {"rabbitmq": {"condition": "service_healthy"}},
            "restart": "on-failure",
        },
    }
    # `docker compose run --rm operator dlq-replay`: the operator's tools, never started by
    # `up` (profile). Dead letters are read as the administrator and replayed as each consumer's
    # own broker user, whose retries alone its consumer believes (review finding 1); the
    # administrator's password, which it also holds, is the greater power.
    services["operator"] = {
        **_lisa_image(),
        "profiles": ["tools"],
        "command": ["dlq-list"],
        "environment": {**_common_env(), "LISA_AMQP_URI": _admin_amqp_uri(),
                        **{config.SERVICE_AMQP_URI.name(c.name): _service_amqp_uri(c.name)
                           for c in specs}},
        "depends_on": ready,
    }
    for c in specs:
        entry = {
            **_lisa_image(),
            "command": ["service", c.name],
            "environment": compose_service_env(c),
            "healthcheck": _healthcheck(["CMD", "python", "-m", "lisa.cli", "healthcheck",
                                         c.name]),
            "depends_on": {**ready,
                           "migrate": {"condition": "service_completed_successfully"},
                           "broker-setup": {"condition": "service_completed_successfully"}},
            "restart": "unless-stopped",
        }
        if c.name == edge.name:
            entry["ports"] = [f"${{LISA_PUBLISHED_PORT:-{platform.default_port(c)}}}:"
                              f"{platform.default_port(c)}"]
            # the reverse proxies in front of the edge (deploy/README.md; review finding 4)
            hops = config.TRUSTED_PROXY_HOPS
            entry["environment"][hops.variable] = f"${{{hops.variable}:-{hops.default}}}"
        services[c.name] = entry
    services["prometheus"] = {
        "image": PROMETHEUS_IMAGE,
        "command": ["--config.file=/etc/prometheus/lisa/compose.yml",
                    "--storage.tsdb.path=/prometheus"],
        "volumes": ["./deploy/prometheus:/etc/prometheus/lisa:ro", "prometheus-data:/prometheus"],
        "ports": ["127.0.0.1:9090:9090"],
        # Started with the services, not after they are healthy: a service that never becomes
        # healthy is what its `up == 0` alert is for (review of issues 7, 8 and 13, finding 7).
        "depends_on": {c.name: {"condition": "service_started"} for c in specs},
        "healthcheck": _healthcheck(["CMD", "wget", "-q", "-O-",
                                     "http://127.0.0.1:9090/-/ready"], "20s"),
        "restart": "unless-stopped",
    }
    services["grafana"] = {
        "image": GRAFANA_IMAGE,
        "environment": {"GF_SECURITY_ADMIN_PASSWORD": _required("GRAFANA_ADMIN_PASSWORD")},
        # deploy/grafana/: the dashboards and their provider as the monitoring set them up
        # (README, Monitoring), the data source at the compose network's Prometheus
        "volumes": ["./deploy/grafana/provisioning/dashboards:"
                    "/etc/grafana/provisioning/dashboards:ro",
                    "./deploy/grafana/compose/datasources:/etc/grafana/provisioning/datasources:ro",
                    "./deploy/grafana/dashboards:/var/lib/grafana/dashboards/lisa:ro",
                    "grafana-data:/var/lib/grafana"],
        "ports": ["127.0.0.1:3000:3000"],
        "depends_on": {"prometheus": {"condition": "service_healthy"}},
        "healthcheck": _healthcheck(["CMD", "wget", "-q", "-O-",
                                     "http://127.0.0.1:3000/api/health"], "30s"),
        "restart": "unless-stopped",
    }
    return {"services": services,
            "volumes": {name: {} for name in ("rabbitmq-data", "postgres-data",
                                              "prometheus-data", "grafana-data")}}


def compose_text() -> str:
    return ("# LISA on one server (deploy/README.md, First install with docker-compose).\n# "
            + GENERATED.format(command="compose")
            + yaml.safe_dump(compose_config(), sort_keys=False, width=200))


def compose_scrape_text() -> str:
    """deploy/prometheus/compose.yml: Prometheus inside the compose network, one job per
    service at its container name and port."""
    body = {"global": {"scrape_interval": "15s", "evaluation_interval": "15s"},
            "rule_files": ["rules/*.yml"],   # deploy/prometheus/rules/, beside this file
            "scrape_configs": [{"job_name": f"lisa-{c.name}",
                                "static_configs": [{"targets": [
                                    f"{c.name}:{platform.default_port(c)}"]}]}
                               for c in platform.specs()]}
    return "# " + GENERATED.format(command="compose") + yaml.safe_dump(body, sort_keys=False)


VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


def compose_variables(text: str | None = None) -> list[str]:
    """Every variable the compose file takes from `.env`, in order of first use."""
    return list(dict.fromkeys(VARIABLE.findall(text if text is not None else compose_text())))


def env_example_text(values: dict[str, str] | None = None) -> str:
    """.env.example (placeholders) or, given `values`, a filled .env: every variable
    docker-compose.yml reads, keys first (`lisa.cli keys`)."""
    values = values or {}
    keys = list(local.fresh_keys())
    lines = ["# LISA docker-compose settings (deploy/README.md, First install with "
             "docker-compose).",
             "# " + GENERATED.format(command="compose").rstrip("\n"),
             "# Make a filled one with `python -m lisa.cli compose --env > .env` (fresh keys and",
             "# passwords); keep it private (chmod 600): the services refuse to start without",
             "# real keys.", "",
             "# The project's name: its volumes are lisa_postgres-data, lisa_rabbitmq-data, ...",
             f"COMPOSE_PROJECT_NAME={PROJECT_NAME}", "",
             "# -- keys (`python -m lisa.cli keys`, ADR 12)"]
    variables = compose_variables()
    for variable in keys:
        lines.append(f"{variable}={values.get(variable, '')}")
    lines += ["", "# -- passwords: letters and digits only (they go into URIs)"]
    settings_section: list[str] = []
    defaults = {match[0]: match[1] for match in
                re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):-([^}]*)\}", compose_text())}
    for variable in variables:
        if variable in keys:
            continue
        if variable in defaults:
            settings_section.append(f"{variable}={values.get(variable, defaults[variable])}")
        else:
            lines.append(f"{variable}={values.get(variable, '')}")
    lines += ["", "# -- settings (README, Configuration); empty: the default", *settings_section]
    return "\n".join(lines) + "\n"


def fresh_env() -> dict[str, str]:
    """A complete .env: fresh keys and random passwords."""
    values = dict(local.fresh_keys())
    for variable in compose_variables():
        if variable.endswith("_PASSWORD"):
            values[variable] = secrets.token_hex(24)
    return values


# -- Kubernetes: one file per service under k8s/base/services/ -------------------------------------

def labels(c: ServiceSpec) -> dict:
    return {"app.kubernetes.io/name": c.name, "app.kubernetes.io/part-of": "lisa"}


def k8s_service_env(c: ServiceSpec) -> list[dict]:
    def secret(name: str, secret_name: str, key: str) -> dict:
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}

    env = [secret("BROKER_USERNAME", f"lisa-broker-{c.name}", "username"),
           secret("BROKER_PASSWORD", f"lisa-broker-{c.name}", "password"),
           secret("PGUSER", f"{POSTGRES_CLUSTER}-app", "username"),
           secret("PGPASSWORD", f"{POSTGRES_CLUSTER}-app", "password"),
           {"name": config.SERVICE_AMQP_URI.name(c.name),
            "value": f"pyamqp://$(BROKER_USERNAME):$(BROKER_PASSWORD)@{RABBITMQ_CLUSTER}:5672/"},
           {"name": "LISA_DATABASE_URL",
            "value": f"postgresql://$(PGUSER):$(PGPASSWORD)@{POSTGRES_CLUSTER}-rw:5432/"
                     "lisa_{service}"},
           {"name": platform.port_variable(c), "value": str(platform.default_port(c))}]
    for variable in [*platform.key_variables([c.name]), config.AUDIENCE_VARIABLE]:
        env.append(secret(variable, KEYS_SECRET, variable))
    return env


def k8s_service_documents(c: ServiceSpec) -> list[dict]:
    """Deployment (probes, resources, scrape annotations, non-root), Service, PodDisruptionBudget,
    HorizontalPodAutoscaler, the service's broker User, Permission and TopicPermissions
    (messaging topology operator) and its Database (CloudNativePG)."""
    name, port = f"lisa-{c.name}", platform.default_port(c)
    edge = c.serves_routes is not None
    pod_labels = {**labels(c), "lisa.io/broker-client": "true", "lisa.io/database-client": "true",
                  **({"lisa.io/edge": "true"} if edge else {})}

    def probe(path: str, period: int, failures: int) -> dict:
        return {"httpGet": {"path": path, "port": "http"}, "periodSeconds": period,
                "timeoutSeconds": 5, "failureThreshold": failures}

    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": labels(c)},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels(c)},
            "template": {
                "metadata": {"labels": pod_labels, "annotations": {
                    "prometheus.io/scrape": "true", "prometheus.io/port": str(port),
                    "prometheus.io/path": "/metrics"}},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                        "runAsGroup": 10001, "fsGroup": 10001,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "terminationGracePeriodSeconds": 40,
                    "containers": [{
                        "name": c.name, "image": IMAGE,
                        "args": ["service", c.name],
                        "ports": [{"name": "http", "containerPort": port}],
                        "envFrom": [{"configMapRef": {"name": CONFIG_MAP}}],
                        "env": k8s_service_env(c),
                        "startupProbe": probe("/healthz", 5, 24),
                        "readinessProbe": probe("/readyz", 10, 3),
                        "livenessProbe": probe("/healthz", 20, 3),
                        "resources": RESOURCES,
                        "securityContext": {"allowPrivilegeEscalation": False,
                                            "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "var", "mountPath": "/var/lib/lisa"},
                                         {"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": [{"name": "var", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": name, "labels": labels(c)},
               "spec": {"selector": labels(c),
                        "ports": [{"name": "http", "port": port, "targetPort": "http"}]}}
    budget = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
              "metadata": {"name": name, "labels": labels(c)},
              "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels(c)}}}
    autoscaler = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                  "metadata": {"name": name, "labels": labels(c)},
                  "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": name},
                           "minReplicas": 2, "maxReplicas": 6,
                           "metrics": [{"type": "Resource", "resource": {
                               "name": "cpu",
                               "target": {"type": "Utilization", "averageUtilization": 70}}}]}}
    configure, write, read = topology.broker_permissions(c.name, platform.service_classes())
    cluster = {"name": RABBITMQ_CLUSTER}
    user = {"apiVersion": "rabbitmq.com/v1beta1", "kind": "User",
            "metadata": {"name": name, "labels": labels(c)},
            "spec": {"rabbitmqClusterReference": cluster, "tags": [],
                     "importCredentialsSecret": {"name": f"lisa-broker-{c.name}"}}}
    permission = {"apiVersion": "rabbitmq.com/v1beta1", "kind": "Permission",
                  "metadata": {"name": name, "labels": labels(c)},
                  "spec": {"vhost": "/", "userReference": {"name": name},
                           "permissions": {"configure": configure, "write": write, "read": read},
                           "rabbitmqClusterReference": cluster}}
    # Without these the user may publish any routing key on nameko-rpc and its own exchange
    # and bind any key it reads (every request's identity, every reply): `broker-setup` sets
    # the same with `set_topic_permissions` (review of issues 7, 8 and 13, finding 2).
    topic_permissions = [
        {"apiVersion": "rabbitmq.com/v1beta1", "kind": "TopicPermission",
         "metadata": {"name": f"{name}-{_k8s_name(exchange)}", "labels": labels(c)},
         "spec": {"vhost": "/", "userReference": {"name": name},
                  "permissions": {"exchange": exchange, "write": topic_write,
                                  "read": topic_read},
                  "rabbitmqClusterReference": cluster}}
        for exchange, topic_write, topic_read in topology.topic_permissions(
            c.name, tuple(c.publishes))]
    database = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Database",
                "metadata": {"name": name, "labels": labels(c)},
                "spec": {"name": f"lisa_{c.name}", "owner": "app",
                         "cluster": {"name": POSTGRES_CLUSTER}}}
    return [deployment, service, budget, autoscaler, user, permission, *topic_permissions,
            database]


def _k8s_name(text: str) -> str:
    """An exchange name as part of a Kubernetes object name (lower case, `-` for the rest)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def k8s_service_text(c: ServiceSpec) -> str:
    return ("# " + GENERATED.format(command="k8s")
            + yaml.safe_dump_all(k8s_service_documents(c), sort_keys=False, width=200))


def k8s_broker_policy() -> dict:
    """The event queues' delivery limit and dead-letter exchange (`topology.event_queue_policy`,
    which `broker-setup` sets for compose and `make run`) as the topology operator's Policy."""
    policy = topology.event_queue_policy()
    return {"apiVersion": "rabbitmq.com/v1beta1", "kind": "Policy",
            "metadata": {"name": policy["name"],
                         "labels": {"app.kubernetes.io/part-of": "lisa"}},
            "spec": {"name": policy["name"], "vhost": "/", "pattern": policy["pattern"],
                     "applyTo": policy["apply-to"], "priority": policy["priority"],
                     "definition": policy["definition"],
                     "rabbitmqClusterReference": {"name": RABBITMQ_CLUSTER}}}


def k8s_files() -> dict[str, str]:
    """k8s/base/services/: a file per service, the broker policy and the kustomization
    listing them."""
    files = {f"{c.name}.yaml": k8s_service_text(c) for c in platform.specs()}
    files["broker-policy.yaml"] = "# " + GENERATED.format(command="k8s") + yaml.safe_dump(
        k8s_broker_policy(), sort_keys=False, width=200)
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                     "resources": sorted(files)}
    files["kustomization.yaml"] = "# " + GENERATED.format(command="k8s") + yaml.safe_dump(
        kustomization, sort_keys=False)
    return files


def generated_files(kind: str) -> dict[Path, str]:
    """What `lisa.cli compose` (kind "compose") or `lisa.cli k8s` ("k8s") writes."""
    if kind == "compose":
        return {COMPOSE_FILE: compose_text(), ENV_EXAMPLE_FILE: env_example_text(),
                SCRAPE_FILE: compose_scrape_text()}
    return {K8S_SERVICES_DIR / name: text for name, text in k8s_files().items()}


def write_files(kind: str) -> list[Path]:
    """Write the generated files of `kind`; returns the paths changed (a file of a service no
    longer registered is removed)."""
    files, written = generated_files(kind), []
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    if kind == "k8s":
        for stale in K8S_SERVICES_DIR.glob("*.yaml"):
            if stale not in files:
                stale.unlink()
                written.append(stale)
    return written
