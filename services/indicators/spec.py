"""The indicators service, as the runners see it (shared/spec.py): it consumes every event of
every registered service that publishes (its class is made from the registry)."""
from pathlib import Path

from services.indicators import catalogue, demo, routes, use_cases
from services.indicators.models import metadata
from services.indicators.service import (
    BATCH_SIZE,
    BATCH_WAIT_MS,
    IndicatorsOps,
    IndicatorsService,
    consuming,
)
from shared.spec import ServiceSpec

SPEC = ServiceSpec(
    name="indicators",
    service=IndicatorsService,
    ops=IndicatorsOps,
    ops_port=8005,
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    seed_demo=demo.seed_demo,
    routes=routes.RESOURCES,
    consumes_every_event=consuming,
    settings=(BATCH_SIZE, BATCH_WAIT_MS),
    rebuild_projections=lambda session: use_cases.rebuild(session, catalogue.load()),
)
