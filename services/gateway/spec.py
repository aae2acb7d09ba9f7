"""The gateway, the platform's HTTP edge, as the runners see it (shared/spec.py): it serves on
LISA_HTTP_PORT, with its own /healthz /readyz /metrics, every registered service's REST
resources."""
from pathlib import Path

from services.gateway import auth, demo, web
from services.gateway.models import metadata
from services.gateway.service import GatewayService, serving
from shared.spec import ServiceSpec

SPEC = ServiceSpec(
    name="gateway",
    service=GatewayService,
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    seed_demo=demo.seed_demo,
    settings=(*auth.SETTINGS, *web.SETTINGS),
    serves_routes=serving,
)
