"""The prevention service (street work, mediation, technoprevention), as the runners see it
(shared/spec.py)."""
from pathlib import Path

from services.prevention import demo, events, routes, use_cases
from services.prevention.models import metadata
from services.prevention.service import PURGE_DAYS, PreventionOps, PreventionService
from shared.spec import ServiceSpec

SPEC = ServiceSpec(
    name="prevention",
    service=PreventionService,
    ops=PreventionOps,
    ops_port=8007,
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    publishes=events.PUBLISHES,
    seed_demo=demo.seed_demo,
    settings=(PURGE_DAYS,),
    seals_content=True,
    reseal=use_cases.reseal_content,
    routes=routes.RESOURCES,
)
