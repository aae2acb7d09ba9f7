"""The nameko dependencies every service declares: the caller's identity, the clock, the
entrypoint metrics (and shared.db's Database, shared.handlers' DeadLetters, shared.rpc's
ServiceClient). The rules they serve (shared.identity, shared.clock, shared.metrics) import no
nameko, so use cases and views run without it
(docs/adr/0016-registry-runtime-risk-and-exit-path.md)."""
import time

from nameko.extensions import DependencyProvider

from shared import config, metrics
from shared.clock import utc_now
from shared.identity import CONTEXT_KEY, Identity, SigningKey, TrustedKeys


class Clock(DependencyProvider):
    """The current time, so tests can fix it."""

    def get_dependency(self, worker_ctx):
        return utc_now


class CallerIdentity(DependencyProvider):
    """Injects an accessor for the identity of whoever started this call chain. Each service
    container signs with its own service's key, also when every service shares one process."""

    def setup(self):
        self.signing_key = SigningKey.from_config(self.container.service_name)
        self.trusted = TrustedKeys.from_config()

    class Accessor:
        def __init__(self, worker_ctx, provider):
            self._worker_ctx = worker_ctx
            self._provider = provider

        @property
        def current(self) -> Identity:
            return self._provider.trusted.verify(
                self._worker_ctx.context_data.get(CONTEXT_KEY))

        def assume(self, identity: Identity) -> None:
            """Act as `identity` for the rest of this worker's calls: the gateway for a user
            it authenticated; a service only as itself."""
            self._worker_ctx.context_data[CONTEXT_KEY] = \
                self._provider.signing_key.mint(identity)

        def act_as_service(self) -> Identity:
            """An event handler or timer acting on this service's own behalf, for the antennas
            this deployment serves."""
            identity = Identity.for_service(self._provider.container.service_name,
                                            config.served_antennas())
            self.assume(identity)
            return identity

    def get_dependency(self, worker_ctx):
        return self.Accessor(worker_ctx, self)


class EntrypointMetrics(DependencyProvider):
    """Counts and times every entrypoint of the service it is declared on."""

    def setup(self):
        self.started = {}

    def worker_setup(self, worker_ctx):
        self.started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self.started.pop(worker_ctx, None)
        service = self.container.service_name
        name = worker_ctx.entrypoint.method_name
        metrics.ENTRYPOINT_CALLS.labels(service, name, metrics.outcome(exc_info)).inc()
        if started is not None:
            metrics.ENTRYPOINT_LATENCY.labels(service, name).observe(time.perf_counter() - started)

    def worker_teardown(self, worker_ctx):
        self.started.pop(worker_ctx, None)
