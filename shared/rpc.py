"""RPC, nameko's side: the entrypoint every service declares, clients with a deadline, and the
typed errors carried across intact.

nameko 3's RPC call waits for its reply forever. `ServiceClient` gives each request message a
TTL (`expiration`), so a request nobody consumed in time is dropped by the broker instead of being
executed long after its caller gave up; the caller bounds its wait with `deadline()`."""
import logging
import uuid
from typing import Any

import eventlet
import nameko.rpc
from kombu import Exchange, Queue
from nameko.amqp.publish import Publisher
from nameko.exceptions import RemoteError, deserialize_to_instance
from nameko.rpc import ReplyListener, ServiceRpc
from nameko.rpc import rpc as nameko_rpc

from shared import config, topology
from shared.errors import CROSSES_RPC, LisaError

log = logging.getLogger(__name__)

for _error in CROSSES_RPC:   # the caller gets the class the service raised, not a RemoteError
    deserialize_to_instance(_error)


class ServiceUnavailable(LisaError):
    status = 503
    code = "unavailable"


# A service that meets the broker or its database away answers an RPC with nameko's RemoteError
# naming the class: transient for its caller too (a consumer retries, the gateway answers 503),
# unlike a remote bug. Found by `make test-chaos` during a PostgreSQL restart (ADR 33).
TRANSIENT_REMOTE_ERRORS = frozenset({
    "OperationalError", "InterfaceError", "DisconnectionError", "TimeoutError",
    "ServiceUnavailable", "UnknownService", "ConnectionError", "ConnectionRefusedError",
    "ConnectionResetError", "BrokenPipeError",
})


def is_transient_remote(exc: BaseException) -> bool:
    return isinstance(exc, RemoteError) and exc.exc_type in TRANSIENT_REMOTE_ERRORS


def rpc(fn):
    """Our RPC entrypoint: typed errors are expected answers (logged as such), not crashes."""
    return nameko_rpc(expected_exceptions=LisaError)(fn)


_declared = {"by_migrate": False}


def rpc_exchange() -> Exchange:
    """nameko's RPC exchange; passive (checked, never declared) once `expect_declared_topology`
    was called: a service with its own broker user has no right to declare it (review of
    issue 7, finding 2), `migrate` did."""
    return Exchange(topology.RPC_EXCHANGE.name, type="topic", durable=True,
                    passive=_declared["by_migrate"])


def expect_declared_topology() -> None:
    """This process's service connects as its own broker user: leave shared objects to
    `migrate`."""
    _declared["by_migrate"] = True


nameko.rpc.get_rpc_exchange = rpc_exchange   # every use in nameko.rpc looks it up by name


class ServiceReplyListener(ReplyListener):
    """nameko's reply listener, with reply routing keys `reply.<service>.<uuid>` instead of a
    bare uuid, so the broker's topic permissions let each service bind only its own replies."""

    def setup(self):
        super().setup()
        service = self.container.service_name
        self.routing_key = topology.reply_routing_key(service, str(uuid.uuid4()))
        # No green thread switch since super().setup() set its queue: ServiceClient.setup,
        # which waits for the queue, only ever sees this one.
        first: Any = getattr(self, "queue")  # noqa: B009  (nameko's attribute, untyped)
        # nameko's reply queue is durable and not exclusive (it expires when unused): under
        # `default_queue_type = quorum` it would become a replicated Raft queue per process.
        # It is one connection's, so classic, explicitly (review of issues 7, 8 and 13, 8).
        queue = Queue(first.name, exchange=rpc_exchange(), routing_key=self.routing_key,
                      queue_arguments={**(first.queue_arguments or {}),
                                       **topology.REPLY_QUEUE_ARGUMENTS})
        self.queue = queue
        self.consumer.queues = [queue]


class ReplyQueueDeclaredOnce(Publisher):
    """nameko declares the caller's reply queue before every request it publishes, and kombu
    cannot remember the declaration of an auto-delete queue: every RPC call paid two synchronous
    broker round trips (queue and exchange declare) before its request, a tenth of the gateway's
    CPU per report (docs/adr/0034-report-pipeline-speed.md). The reply listener's consumer
    declares the queue itself whenever it (re)connects; the requests declare it only until one
    publish has gone through, and again after a publish failed (the broker may have restarted)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.declare_on_failure: list = list(kwargs.get("declare") or [])

    def publish(self, payload, **kwargs):
        try:
            super().publish(payload, **kwargs)
        except Exception:
            self.declare = list(self.declare_on_failure)
            raise
        self.declare = []


class ServiceClient(ServiceRpc):
    reply_listener = ServiceReplyListener()
    publisher_cls = ReplyQueueDeclaredOnce

    def setup(self):
        self.publisher_options["expiration"] = config.rpc_timeout_seconds()
        super().setup()


def deadline() -> eventlet.Timeout:
    """`with deadline():` around RPC calls; raises ServiceUnavailable when they take too long."""
    return eventlet.Timeout(config.rpc_timeout_seconds(),
                            ServiceUnavailable("A service did not answer in time."))


class ExpectedErrorsOnOneLine(logging.Filter):
    """nameko logs every expected exception of an entrypoint as a WARNING with its traceback
    (`ServiceContainer._run_worker`): one per refused request, thousands under a fuzzer. A typed
    error is an answer, not a fault: it is logged here as one INFO line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if not (isinstance(record.msg, str) and record.msg.startswith("(expected)")
                and len(args) == 2 and isinstance(args[1], LisaError)):
            return True
        worker_ctx, error = args[0], args[1]
        assert isinstance(error, LisaError)
        entrypoint = getattr(worker_ctx, "entrypoint", None)
        log.info("%s.%s refused: %s: %s", getattr(worker_ctx, "service_name", "?"),
                 getattr(entrypoint, "method_name", "?"), error.code, error.message)
        return False


_ONE_LINE = ExpectedErrorsOnOneLine()
logging.getLogger("nameko.containers").addFilter(_ONE_LINE)  # idempotent: one instance
