"""The services of the platform and how to import them; the one list every runner uses."""
import importlib
from dataclasses import dataclass

from shared import config


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    service: str          # "module:Class" of the nameko service
    ops: str | None       # its /healthz /readyz /metrics companion (distributed mode)
    metadata: str         # "module:attribute" of its SQLAlchemy metadata
    ops_port: int | None  # default port of the companion in `make run`
    seals_content: bool = False  # encrypts personal content at rest: needs LISA_ENCRYPTION_KEYS


SERVICES = (
    ServiceSpec("incidents", "services.incidents.service:IncidentsService",
                "services.incidents.service:IncidentsOps", "services.incidents.models:metadata",
                8001),
    ServiceSpec("tags", "services.tags.service:TagsService", "services.tags.service:TagsOps",
                "services.tags.models:metadata", 8002),
    ServiceSpec("referrals", "services.referrals.service:ReferralsService",
                "services.referrals.service:ReferralsOps", "services.referrals.models:metadata",
                8003, seals_content=True),
    ServiceSpec("gateway", "services.gateway.service:GatewayService", None,
                "services.gateway.models:metadata", None),
)
BY_NAME = {spec.name: spec for spec in SERVICES}


def load(path: str):
    module, attribute = path.split(":")
    return getattr(importlib.import_module(module), attribute)


def seed_reference_data(name: str, session, antenna_id: str) -> None:
    """Reference data shipped with a service's code (idempotent)."""
    if name == "incidents":
        from services.incidents.use_cases import seed_reference_data as seed

        seed(session)
    elif name == "referrals":
        from services.referrals.use_cases import seed_reference_data as seed

        seed(session)
    elif name == "tags":
        from services.tags.use_cases import seed_reference_data as seed

        seed(session, antenna_id)


def key_variables(names) -> list[str]:
    """The keys a process running these services must be given: no default (ADR 12)."""
    variables = [config.signing_key_variable(name) for name in names]
    variables.append(config.PUBLIC_KEYS_VARIABLE)
    if any(BY_NAME[name].seals_content for name in names):
        variables.append(config.ENCRYPTION_KEYS_VARIABLE)
    return variables


def service_classes() -> list[type]:
    return [load(spec.service) for spec in SERVICES]
