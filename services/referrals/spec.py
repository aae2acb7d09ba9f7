"""The referrals service, as the runners see it (shared/spec.py)."""
from pathlib import Path

from services.referrals import demo, events, routes, use_cases
from services.referrals.models import metadata
from services.referrals.service import (
    EXPIRY_DAYS,
    PURGE_DAYS,
    REMINDER_DAYS,
    ReferralsOps,
    ReferralsService,
)
from shared.spec import ServiceSpec

SPEC = ServiceSpec(
    name="referrals",
    service=ReferralsService,
    ops=ReferralsOps,
    ops_port=8003,
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    publishes=events.PUBLISHES,
    seed_reference=lambda session, _antenna: use_cases.seed_reference_data(session),
    seed_demo=demo.seed_demo,
    settings=(REMINDER_DAYS, EXPIRY_DAYS, PURGE_DAYS),
    seals_content=True,
    reseal=use_cases.reseal_content,
    routes=routes.RESOURCES,
)
