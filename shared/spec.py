"""What the runners need to know about a service, declared once in its folder:
`services/<name>/spec.py` holds `SPEC = ServiceSpec(...)`.

The registry (lisa/platform.py) lists the services by name; the embedded runner, `make run`, the
CLI, the broker topology and permissions, the keys, the benchmark, the Prometheus scrape
configuration and the integration tests loop over their specs. Adding a service is one folder
plus one registry line; tests/unit/test_registry.py fails when a folder is not registered or a
spec lacks a piece.
"""
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.orm import Session

from shared.config import Setting
from shared.db import Database
from shared.events import PayloadSchema


@dataclass
class DemoContext:
    """What a service's demo seeding is given. A service reads no other service's database, so
    what one seeding makes that a later one needs (the tags crew's jobs follow the demo
    incidents) is handed on: `handed_on[<service>]`, in registry order."""
    antenna_id: str
    now: datetime
    accounts: Mapping[str, tuple[str, str]]   # demo username -> (role, organisation)
    password: str
    handed_on: dict[str, Any] = field(default_factory=dict)


ReferenceSeeding = Callable[[Session, str], None]         # (session, antenna id); idempotent
DemoSeeding = Callable[[Database, DemoContext], str | None]   # -> what it made, for a person


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    service: type                       # the nameko service class (entrypoints)
    metadata: MetaData                  # its own tables
    migrations: Path                    # its Alembic folder (env.py, versions/)
    ops: type | None = None             # /healthz /readyz /metrics beside it (distributed mode)
    ops_port: int | None = None         # `ops`'s port in `make run` (LISA_<NAME>_OPS_PORT)
    # The events it publishes: type -> (current schema version, payload schema). Registered in
    # shared.events when the platform loads, so a consumer needs no import of the publisher.
    publishes: Mapping[str, tuple[int, type[PayloadSchema]]] = field(default_factory=dict)
    seed_reference: ReferenceSeeding | None = None   # data shipped with the code
    seed_demo: DemoSeeding | None = None             # the embedded demo's data
    settings: tuple[Setting, ...] = ()               # the environment variables it reads
    seals_content: bool = False          # encrypts personal content at rest: needs the keys
    # Re-encrypts its sealed content with the first key (`lisa.cli reencrypt`); returns how many
    # records hold content. Required when it seals content.
    reseal: Callable[[Session], int] | None = None
    routes: tuple[type, ...] = ()        # its REST resources (shared.http.api), one per class
    # Only the HTTP edge (the gateway): builds its class serving every spec's `routes`.
    serves_routes: Callable[[tuple[type, ...]], type] | None = None
    # Only a service that listens to every event (indicators): builds its class consuming every
    # event type of each of these publishing services (their names, in registry order).
    consumes_every_event: Callable[[tuple[str, ...]], type] | None = None
    # Recomputes its projections from its event store (`lisa.cli rebuild-projections`);
    # returns rows made per table. The caller commits.
    rebuild_projections: Callable[[Session], dict] | None = None

    @property
    def consumes(self) -> set[tuple[str, str]]:
        """(source, event type) of every event its handlers consume, read off the handlers."""
        from shared.topology import handlers_of

        return {(handler.source_service, handler.event_type)
                for _, _, handler in handlers_of([self.service])}
