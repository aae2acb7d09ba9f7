"""/healthz, /readyz and /metrics: the same three endpoints on every service.

Back-end services run `ops_service(...)` beside themselves in distributed mode (one nameko web
server per process); the gateway mixes `OpsEndpoints` in, and in embedded mode its /metrics is the
merged page of every service in the process.
"""
import json
from typing import Any

import nameko
from kombu import Connection
from werkzeug.wrappers import Response

from shared import config, metrics
from shared.db import Database
from shared.web import http


def broker_reachable(timeout: float = 2.0) -> None:
    """As this process connects: its nameko config holds its service's own broker URI."""
    uri = nameko.config.get("AMQP_URI") or config.amqp_uri()
    with Connection(uri, connect_timeout=timeout) as connection:
        connection.ensure_connection(max_retries=1)


def _json(status: int, body: dict) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


class OpsEndpoints:
    """Mixin for a nameko service class that has a `db` Database dependency."""

    name: str
    db: Any

    @http("GET", "/healthz")
    def healthz(self, request):
        return _json(200, {"status": "alive", "service": self.name})

    @http("GET", "/readyz")
    def readyz(self, request):
        checks = {}
        for check, probe in (("database", self.db.ping), ("broker", broker_reachable)):
            try:
                probe()
                checks[check] = "ok"
            except Exception as exc:  # a readiness probe reports, it does not raise
                checks[check] = f"unreachable: {type(exc).__name__}"
        ready = all(value == "ok" for value in checks.values())
        return _json(200 if ready else 503, {"ready": ready, "checks": checks})

    @http("GET", "/metrics")
    def metrics_page(self, request):
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type)


def ops_service(service: str, metadata) -> type:
    """A companion service exposing the ops endpoints of `service` on its own port."""
    return type(f"{service.title()}Ops", (OpsEndpoints,), {
        "name": f"{service}_ops",
        "db": Database(metadata, service=service),
    })
