"""The registry: the platform's services, by name. Each is a folder `services/<name>/` whose
`spec.py` says what the runners need (shared/spec.py); everything that runs, wires, keys,
benchmarks or scrapes the platform loops over `specs()`. Adding a service is one folder plus one
name in SERVICES."""
import functools
import importlib
from collections.abc import Iterable

import yaml
from sqlalchemy import MetaData

from shared import config, events
from shared.config import Setting
from shared.events import PayloadSchema
from shared.http import Route, routes_of
from shared.spec import ServiceSpec

# In the order they are migrated, seeded (a demo seeding may use what an earlier one handed on)
# and started; the gateway serves the REST resources in this order.
SERVICES = ("incidents", "tags", "referrals", "prevention", "patrols", "indicators",
            "gateway")
PACKAGE = "services"


class RegistryError(ValueError):
    """A registered service's spec is missing a piece or clashes with another's."""


def specs() -> tuple[ServiceSpec, ...]:
    """Every registered service's spec, checked, its events registered in shared.events."""
    return _load(SERVICES)


def spec(name: str) -> ServiceSpec:
    for candidate in specs():
        if candidate.name == name:
            return candidate
    raise KeyError(f"{name} is not a registered service (lisa/platform.py)")


def names() -> list[str]:
    return [candidate.name for candidate in specs()]


@functools.cache
def _load(registered: tuple[str, ...]) -> tuple[ServiceSpec, ...]:
    loaded = tuple(importlib.import_module(f"{PACKAGE}.{name}.spec").SPEC for name in registered)
    found = [f"services/{name}/spec.py declares {candidate.name!r}"
             for name, candidate in zip(registered, loaded, strict=True)
             if candidate.name != name]
    found += problems(loaded)
    if found:
        raise RegistryError("; ".join(found))
    for candidate in loaded:
        events.register(candidate.name, dict(candidate.publishes))
    return loaded


def problems(candidates: Iterable[ServiceSpec]) -> list[str]:
    """What is missing from, or clashes between, these specs; empty when the platform can run
    them."""
    candidates = list(candidates)
    found: list[str] = []
    edges = [c.name for c in candidates if c.serves_routes is not None]
    if len(edges) != 1:
        found.append(f"exactly one service must serve the REST resources, not {edges}")
    for c in candidates:
        found += _pieces_missing(c)
    found += _clashes(candidates)
    published = {(c.name, event_type) for c in candidates for event_type in c.publishes}
    for c in candidates:
        for source, event_type in sorted(c.consumes - published):
            found.append(f"{c.name} consumes {source}.{event_type}, which no registered "
                         "service publishes")
    return found


def _pieces_missing(c: ServiceSpec) -> list[str]:
    found = []
    if getattr(c.service, "name", None) != c.name:
        found.append(f"{c.name}: its service class is not the nameko service {c.name!r}")
    edge = c.serves_routes is not None
    if not edge and (c.ops is None or c.ops_port is None):
        found.append(f"{c.name}: no ops class and port (/healthz /readyz /metrics)")
    if c.ops is not None and getattr(c.ops, "name", None) in (None, c.name):
        found.append(f"{c.name}: its ops class needs a nameko name of its own")
    if not isinstance(c.metadata, MetaData) or not c.metadata.tables:
        found.append(f"{c.name}: no tables in its metadata")
    if not (c.migrations / "env.py").is_file() or not (c.migrations / "versions").is_dir():
        found.append(f"{c.name}: no Alembic folder (env.py, versions/) at {c.migrations}")
    if c.seals_content and c.reseal is None:
        found.append(f"{c.name}: seals content but cannot re-encrypt it (reseal)")
    if c.seed_demo is None:
        found.append(f"{c.name}: no demo seeding (the embedded demo shows every service)")
    for event_type, declared in c.publishes.items():
        version, schema = declared if isinstance(declared, tuple) and len(declared) == 2 \
            else (None, None)
        if not (isinstance(version, int) and version >= 1 and isinstance(schema, type)
                and issubclass(schema, PayloadSchema)):
            found.append(f"{c.name}: {event_type} needs (schema version, PayloadSchema)")
    if _has_rpc(c.service) and not edge and not c.routes:
        found.append(f"{c.name}: an API (RPC entrypoints) but no REST resources (routes)")
    for setting in c.settings:
        if not isinstance(setting, Setting) or not setting.variable.startswith("LISA_"):
            found.append(f"{c.name}: setting {setting!r} is not a LISA_ Setting")
    return found


def _clashes(candidates: list[ServiceSpec]) -> list[str]:
    found = []
    seen: dict[object, str] = {}

    def claim(what: object, description: str, owner: str) -> None:
        if what in seen and seen[what] != owner:
            found.append(f"{description} is claimed by {seen[what]} and {owner}")
        seen.setdefault(what, owner)

    claim(("port", default_port_of_edge()), f"port {default_port_of_edge()}", "the HTTP edge")
    for platform_setting in config.SETTINGS:
        claim(("setting", platform_setting.variable), platform_setting.variable,
              "shared/config.py")
    for c in candidates:
        claim(("service", c.name), f"the name {c.name!r}", f"a spec ({c.service.__name__})")
        if c.ops_port is not None:
            claim(("port", c.ops_port), f"port {c.ops_port}", c.name)
        for event_type in c.publishes:
            claim(("event", event_type), f"the event type {event_type!r}", c.name)
        for setting in c.settings:
            claim(("setting", getattr(setting, "variable", setting)),
                  getattr(setting, "variable", repr(setting)), c.name)
    return found


def _has_rpc(service: type) -> bool:
    from nameko.rpc import Rpc

    return any(isinstance(entrypoint, Rpc)
               for attribute in dir(service)
               for entrypoint in getattr(getattr(service, attribute), "nameko_entrypoints", ()))


# -- what the runners ask ------------------------------------------------------------------------

def edge() -> ServiceSpec:
    """The service serving every REST resource over HTTP (the gateway)."""
    return next(c for c in specs() if c.serves_routes is not None)


def service_class(name: str) -> type:
    """The nameko class that runs `name`: the edge composed of every spec's REST resources."""
    return _classes(SERVICES)[name]


def service_classes(only: Iterable[str] | None = None) -> list[type]:
    wanted = set(only) if only is not None else None
    return [cls for name, cls in _classes(SERVICES).items() if wanted is None or name in wanted]


@functools.cache
def _classes(registered: tuple[str, ...]) -> dict[str, type]:
    loaded = _load(registered)
    resources = tuple(resource for c in loaded for resource in c.routes)
    publishers = tuple(c.name for c in loaded if c.publishes)

    def build(c: ServiceSpec) -> type:
        if c.serves_routes:
            return c.serves_routes(resources)
        if c.consumes_every_event:
            return c.consumes_every_event(publishers)
        return c.service

    return {c.name: build(c) for c in loaded}


def api_routes() -> list[Route]:
    """Every REST route the edge serves: its own, then each service's resources."""
    return routes_of(service_class(edge().name))


def default_port_of_edge() -> int:
    return int(config.HTTP_PORT.default or 8000)


def default_port(c: ServiceSpec) -> int:
    """Where `make run` serves a service's HTTP endpoints unless told otherwise."""
    return default_port_of_edge() if c.serves_routes is not None else int(c.ops_port or 0)


def port(c: ServiceSpec) -> int:
    """Where this process serves them: LISA_HTTP_PORT for the edge, LISA_<NAME>_OPS_PORT for
    the others, else the default."""
    if c.serves_routes is not None:
        return config.http_port()
    return config.ops_port(c.name) or default_port(c)


def port_variable(c: ServiceSpec) -> str:
    return config.HTTP_PORT.variable if c.serves_routes is not None else \
        config.OPS_PORT.name(c.name)


def key_variables(names: Iterable[str]) -> list[str]:
    """The keys a process running these services must be given: no default (ADR 12)."""
    names = list(names)
    variables = [config.signing_key_variable(name) for name in names]
    variables.append(config.PUBLIC_KEYS_VARIABLE)
    if any(spec(name).seals_content for name in names):
        variables.append(config.ENCRYPTION_KEYS_VARIABLE)
    return variables


def settings() -> list[Setting]:
    """Every environment variable the platform reads: shared/config.py's and each service's."""
    return [*config.SETTINGS, *(setting for c in specs() for setting in c.settings)]


def prometheus_config(ports: dict[str, int] | None = None, host: str = "127.0.0.1") -> str:
    """Prometheus's scrape configuration for `make run` on one host: one job per registered
    service, at `ports` (name -> port; default: each one's default port)."""
    ports = ports or {c.name: default_port(c) for c in specs()}
    body = {"global": {"scrape_interval": "15s", "evaluation_interval": "15s"},
            # the alert rules beside this file (deploy/prometheus/rules/, docs/adr/0025)
            "rule_files": ["rules/*.yml"],
            "scrape_configs": [{"job_name": f"lisa-{c.name}",
                                "static_configs": [{"targets": [f"{host}:{ports[c.name]}"]}]}
                               for c in specs()]}
    return ("# Generated from the registry (lisa/platform.py) by `python -m lisa.cli "
            "prometheus-config`;\n# do not edit: tests/unit/test_registry.py checks it is what "
            "the registry says.\n# `make run` on one machine at the default ports; every metric "
            "carries a `service` label.\n" + yaml.safe_dump(body, sort_keys=False))
