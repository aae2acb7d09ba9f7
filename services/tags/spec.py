"""The tags service (graffiti removal), as the runners see it (shared/spec.py)."""
from pathlib import Path

from services.tags import demo, events, routes, use_cases
from services.tags.models import metadata
from services.tags.service import DEPOT_LAT, DEPOT_LON, TagsOps, TagsService
from shared.spec import ServiceSpec

SPEC = ServiceSpec(
    name="tags",
    service=TagsService,
    ops=TagsOps,
    ops_port=8002,
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    publishes=events.PUBLISHES,
    seed_reference=use_cases.seed_reference_data,
    seed_demo=demo.seed_demo,
    settings=(DEPOT_LAT, DEPOT_LON),
    routes=routes.RESOURCES,
)
