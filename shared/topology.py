"""The broker's topology: event queues, each service's retry path, dead letters and parking.

nameko declares an event handler's queue when that handler starts, so an event published
earlier is routed nowhere and lost for it. Declaring the queues (with nameko's own names and
arguments) at deploy time, like a migration of the broker, closes that gap: `lisa.cli migrate`
and the embedded start both call `declare_event_queues`.

Retries (docs/adr/0010-events-retries-dead-letters.md): a consumer that meets a transient
failure republishes the event to its service's delay exchange `<service>.delay` (headers
exchange; header `x-delay-ms` picks the delay queue `<service>.delay.<ms>ms`, whose messages all
share one TTL, so none waits behind a longer one). When the TTL expires the broker dead-letters
the message to `<service>.retry`, a direct exchange to which only that service's own event
queues are bound, each by its own name: a retry reaches the one consumer that failed, and no
service can route anything into another's queues through it.
"""
from kombu import Connection, Exchange, Queue, binding
from nameko.events import SERVICE_POOL, EventHandler

from shared import events

DEAD_LETTER_EXCHANGE = Exchange("lisa.dead-letter", type="topic", durable=True)
DEAD_LETTER_QUEUE = Queue("lisa.dead-letter", exchange=DEAD_LETTER_EXCHANGE, routing_key="#",
                          durable=True)
PARKED_EXCHANGE = Exchange("lisa.parked", type="topic", durable=True)
PARKED_QUEUE = Queue("lisa.parked", exchange=PARKED_EXCHANGE, routing_key="#", durable=True)
DELAY_HEADER = "x-delay-ms"


def is_in_memory(amqp_uri: str) -> bool:
    """The embedded broker has no TTL nor dead-lettering: retries wait in the process."""
    return amqp_uri.startswith("lisa-memory")


def event_queue_name(source: str, event_type: str, service: str, method: str) -> str:
    """nameko's name for a service-pool event handler's queue."""
    return f"evt-{source}-{event_type}--{service}.{method}"


def retry_exchange(service: str) -> Exchange:
    return Exchange(f"{service}.retry", type="direct", durable=True)


def delay_exchange(service: str) -> Exchange:
    return Exchange(f"{service}.delay", type="headers", durable=True)


def delay_ms(seconds: float) -> int:
    """A retry delay as the header value that routes it to its delay queue."""
    return max(1, int(round(seconds * 1000)))


def delay_queue(service: str, seconds: float) -> Queue:
    ms = delay_ms(seconds)
    return Queue(
        f"{service}.delay.{ms}ms", exchange=delay_exchange(service),
        binding_arguments={"x-match": "all", DELAY_HEADER: ms}, durable=True,
        queue_arguments={"x-message-ttl": ms, "x-dead-letter-exchange": f"{service}.retry"},
    )


def event_queue(source: str, event_type: str, service: str, method: str,
                declare: bool = True) -> Queue:
    """An event handler's queue: bound to its source's exchange by event type, and to its own
    service's retry exchange by its own name. `migrate` declares it (`declare`); the consuming
    service only consumes it (`declare=False`): binding to another service's exchange needs
    rights its broker user does not have."""
    name = event_queue_name(source, event_type, service, method)
    return Queue(name, durable=True, auto_delete=False, exclusive=False, no_declare=not declare,
                 bindings=[
        binding(Exchange(events.exchange_name(source), type="topic", durable=True),
                routing_key=event_type),
        binding(retry_exchange(service), routing_key=name),
    ])


# RabbitMQ 4 gives a quorum queue a delivery limit of 20 by default and then drops the message
# unless the queue dead-letters (review of issues 7, 8 and 13, finding 3). An event queue's
# requeues are the "broker keeps it" path (a letter or retry could not be published), spaced by
# up to a minute (shared/handlers.py Backoff): the limit is set explicitly, higher, and what
# passes it goes to the platform's dead-letter queue, where `dlq-list` shows it (reason
# `delivery_limit`) and `dlq-replay` replays it. A policy, not queue arguments: a classic queue
# refuses `x-delivery-limit` as an argument (and ignores it in a policy), and a policy changes
# the queues already declared, which arguments cannot.
EVENT_QUEUE_POLICY = "lisa-event-queues"
EVENT_QUEUE_DELIVERY_LIMIT = 50


def event_queue_policy(delivery_limit: int = EVENT_QUEUE_DELIVERY_LIMIT) -> dict:
    """The broker policy on every event queue (`broker-setup`; Kubernetes: a `Policy`)."""
    return {"name": EVENT_QUEUE_POLICY, "pattern": r"^evt-", "apply-to": "queues",
            "priority": 1,
            "definition": {"delivery-limit": delivery_limit,
                           "dead-letter-exchange": DEAD_LETTER_EXCHANGE.name}}


def consumer_of_queue(queue: str) -> tuple[str, str, str] | None:
    """(source, event_type, consumer) of an event queue's name, as `event_queue_name` makes it."""
    if not queue.startswith("evt-") or "--" not in queue:
        return None
    left, consumer = queue[len("evt-"):].split("--", 1)
    source, _, event_type = left.partition("-")
    if not (source and event_type and "." in consumer):
        return None
    return source, event_type, consumer


def handlers_of(service_classes):
    """(service name, method name, EventHandler) of every service-pool event handler."""
    for cls in service_classes:
        for attribute in dir(cls):
            for entrypoint in getattr(getattr(cls, attribute), "nameko_entrypoints", ()):
                if isinstance(entrypoint, EventHandler) and \
                        entrypoint.handler_type is SERVICE_POOL:
                    yield cls.name, attribute, entrypoint


def event_queues(service_classes) -> list[Queue]:
    return [event_queue(handler.source_service, handler.event_type, service, method)
            for service, method, handler in handlers_of(service_classes)]


def declare_event_queues(amqp_uri: str, service_classes, retry_delays=()) -> int:
    """Declare every event queue, the dead-letter and parking queues, and (on RabbitMQ) each
    consuming service's delay queues."""
    queues = event_queues(service_classes) + [DEAD_LETTER_QUEUE, PARKED_QUEUE]
    if not is_in_memory(amqp_uri):
        consumers = {service for service, _, _ in handlers_of(service_classes)}
        queues += [delay_queue(service, seconds) for service in sorted(consumers)
                   for seconds in sorted(set(retry_delays))]
    exchanges = [RPC_EXCHANGE] + [
        Exchange(events.exchange_name(getattr(cls, "name", "")), type="topic", durable=True)
        for cls in service_classes if getattr(cls, "name", None)]
    with Connection(amqp_uri) as connection:
        channel = connection.default_channel
        for exchange in exchanges:
            exchange(channel).declare()
        for queue in queues:
            queue(channel).declare()
    return len(queues)


def _any_of(names) -> str:
    return "^(" + "|".join(sorted(set(names))) + ")$"


RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)
REPLY_PREFIX = "reply"
# A process's RPC reply queue: one connection's, expiring when unused, never worth replicating.
REPLY_QUEUE_ARGUMENTS = {"x-queue-type": "classic"}


def reply_routing_key(service: str, token: str) -> str:
    """The routing key of a service's RPC reply queue: `reply.<service>.<token>`, so the broker
    can let each service bind only its own (`topic_permissions`); no service is named
    `reply`, so it never meets a request key `<service>.<method>`."""
    return f"{REPLY_PREFIX}.{service}.{token}"


def broker_permissions(service: str, service_classes) -> tuple[str, str, str]:
    """RabbitMQ (configure, write, read) regexes for `service`'s own user (review of issue 7,
    finding 2), the least it needs once `migrate` (as the operator) has declared the topology:

    - configure (declare, delete): its own exchanges (events, delay, retry) and its own RPC
      and delay queues; nothing shared (not `nameko-rpc`, not another's exchange, not the event
      queues `migrate` declares and binds, not the dead letters);
    - write (publish; be the queue of a binding): its own exchanges, its own queues,
      `nameko-rpc` (requests and replies) and the dead-letter and parking exchanges;
    - read (consume; be the exchange of a binding): its own queues, its own delay and retry
      exchanges and `nameko-rpc`, where `topic_permissions` lets it bind only its own request
      and reply keys. It cannot bind anything to another service's exchange."""
    import re

    own_event_queues = [re.escape(event_queue_name(handler.source_service, handler.event_type,
                                                   name, method))
                        for name, method, handler in handlers_of(service_classes)
                        if name == service]
    own_queues = [re.escape(f"rpc-{service}"), re.escape(f"rpc.reply-{service}-") + ".+",
                  re.escape(f"{service}.delay.") + r"\d+ms"]
    own_exchanges = [re.escape(name) for name in (events.exchange_name(service),
                                                  f"{service}.delay", f"{service}.retry")]
    rpc = [re.escape(RPC_EXCHANGE.name)]
    letters = [re.escape(DEAD_LETTER_EXCHANGE.name), re.escape(PARKED_EXCHANGE.name)]
    configure = own_queues + own_exchanges
    write = own_queues + own_exchanges + rpc + letters
    read = own_event_queues + own_queues + own_exchanges[1:] + rpc
    return _any_of(configure), _any_of(write), _any_of(read)


def topic_permissions(service: str, publishes=()) -> list[tuple[str, str, str]]:
    """(exchange, write, read) routing-key regexes for `rabbitmqctl set_topic_permissions`: on
    `nameko-rpc` a service publishes requests `<service>.<method>` and replies, and binds only
    its own request key `<service>.*` and its own reply keys, so it cannot bind `#` and harvest
    other services' requests (identities) or replies; on its own events exchange it publishes
    only the event types its spec declares."""
    import re

    word = r"[A-Za-z0-9_-]+"
    rpc_write = f"^({word}\\.{word}|{REPLY_PREFIX}\\.{word}\\.{word})$"
    rpc_read = (f"^({re.escape(service)}\\.\\*|"
                f"{REPLY_PREFIX}\\.{re.escape(service)}\\.{word})$")
    own = _any_of(re.escape(event_type) for event_type in publishes) if publishes else "^$"
    return [(RPC_EXCHANGE.name, rpc_write, rpc_read), (events.exchange_name(service), own, "^$")]
