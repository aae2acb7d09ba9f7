"""Declare every service's event queues before any service starts.

nameko declares an event handler's queue when that handler starts, so an event published
earlier is routed nowhere and lost for it. Declaring the queues (with nameko's own names and
arguments) at deploy time, like a migration of the broker, closes that gap: `lisa.cli migrate`
and the embedded start both call `declare_event_queues`."""
from kombu import Connection, Exchange, Queue
from nameko.events import SERVICE_POOL, EventHandler


def event_queues(service_classes) -> list[Queue]:
    queues = []
    for cls in service_classes:
        for attribute in dir(cls):
            for entrypoint in getattr(getattr(cls, attribute), "nameko_entrypoints", ()):
                if not isinstance(entrypoint, EventHandler):
                    continue
                if entrypoint.handler_type is not SERVICE_POOL:
                    continue
                exchange = Exchange(f"{entrypoint.source_service}.events", type="topic",
                                    durable=True)
                name = (f"evt-{entrypoint.source_service}-{entrypoint.event_type}--"
                        f"{cls.name}.{attribute}")
                queues.append(Queue(name, exchange=exchange, routing_key=entrypoint.event_type,
                                    durable=True, auto_delete=False, exclusive=False))
    return queues


def declare_event_queues(amqp_uri: str, service_classes) -> int:
    queues = event_queues(service_classes)
    with Connection(amqp_uri) as connection:
        channel = connection.default_channel
        for queue in queues:
            queue(channel).declare()
    return len(queues)
