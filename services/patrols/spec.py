"""The patrols service (Gardiens de la Paix rosters and patrol logs), as the runners see it
(shared/spec.py)."""
from pathlib import Path

from services.patrols import demo, events, routes
from services.patrols.models import metadata
from services.patrols.service import SCHOOL_CALENDAR, PatrolsOps, PatrolsService
from shared.spec import ServiceSpec

SPEC = ServiceSpec(
    name="patrols",
    service=PatrolsService,
    ops=PatrolsOps,
    ops_port=8009,
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    publishes=events.PUBLISHES,
    seed_demo=demo.seed_demo,
    settings=(SCHOOL_CALENDAR,),
    routes=routes.RESOURCES,
)
