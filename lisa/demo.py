"""A realistic demo antenna (Ixelles, Tulipe): its accounts, and each registered service's demo
data (services/<name>/demo.py, named by its spec), seeded in registry order so a service can use
what an earlier one handed on. Embedded mode only: every account's password is `demo`."""
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from lisa import platform
from shared.db import Database
from shared.spec import DemoContext

DEMO_PASSWORD = "demo"

# username -> (role, organisation); embedded mode only.
DEMO_ACCOUNTS = {
    "desk": ("desk", "antenna_desk"),
    "warden": ("warden", "gardiens_de_la_paix"),
    "streetworker": ("street_worker", "street_work"),
    "mediator": ("mediator", "social_mediation"),
    "police": ("police", "police_zone"),
    "tags": ("tags", "cellule_tags"),
    "coordinator": ("coordinator", "prevention_service"),
    "auditor": ("auditor", "prevention_service"),
    "admin": ("admin", "prevention_service"),
    # receiving partners, so referrals can be answered in the demo
    "addiction": ("street_worker", "addiction_service"),
    "ifv": ("mediator", "intra_family_violence"),
    "housing": ("mediator", "housing_advice"),
    "wardencoord": ("warden_coordinator", "gardiens_de_la_paix"),
    "warden2": ("warden", "gardiens_de_la_paix"),   # a second warden, to swap shifts with
    # technoprevention adviser: home-security visits (issue 11)
    "techno": ("techno_adviser", "technoprevention"),
}


def seed(database_for: Callable[[str], Database], antenna_id: str,
         only: Iterable[str] | None = None, now: datetime | None = None) -> list[str]:
    """Run each registered service's demo seeding (those named in `only`, if given) against the
    database `database_for(name)` opens; returns what each made, for a person to read. Each
    seeding skips what already exists, so a restarted demo keeps its data."""
    wanted = set(only) if only is not None else None
    context = DemoContext(antenna_id=antenna_id, now=now or datetime.now(UTC),
                          accounts=DEMO_ACCOUNTS, password=DEMO_PASSWORD)
    made = []
    for spec in platform.specs():
        if spec.seed_demo is None or (wanted is not None and spec.name not in wanted):
            continue
        database = database_for(spec.name)
        try:
            summary = spec.seed_demo(database, context)
        finally:
            database.engine.dispose()
        if summary:
            made.append(summary)
    return made


def seed_accounts(database_for: Callable[[str], Database], antenna_id: str) -> None:
    """Only the demo accounts (the tests' platforms start empty otherwise)."""
    seed(database_for, antenna_id, only=[platform.edge().name])
