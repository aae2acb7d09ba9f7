"""The incidents service, as the runners see it (shared/spec.py)."""
from pathlib import Path

from services.incidents import demo, events, open311_routes, routes, use_cases
from services.incidents.models import metadata
from services.incidents.service import (
    CONTACT_RETENTION_DAYS,
    IncidentsOps,
    IncidentsService,
)
from shared.spec import ServiceSpec

SPEC = ServiceSpec(
    name="incidents",
    service=IncidentsService,
    ops=IncidentsOps,
    ops_port=8001,
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    publishes=events.PUBLISHES,
    seed_reference=lambda session, _antenna: use_cases.seed_reference_data(session),
    seed_demo=demo.seed_demo,
    settings=(CONTACT_RETENTION_DAYS,),
    routes=routes.RESOURCES + open311_routes.RESOURCES,
)
