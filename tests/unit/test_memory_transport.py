"""The lisa-memory:// adapter: nameko RPC (which fails on plain memory://) and events work in
one process, and typed errors cross RPC as themselves."""
import pytest
from kombu import Connection, Exchange, Queue
from nameko.events import EventDispatcher, event_handler
from nameko.rpc import ServiceRpc, rpc
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

from shared import memory_transport
from shared.errors import NotFound


class Echo:
    name = "echo"

    @rpc
    def echo(self, value):
        return {"echoed": value}

    @rpc
    def missing(self):
        raise NotFound("nothing here", {"id": ["unknown"]})


class Caller:
    name = "caller"
    echo = ServiceRpc("echo")
    dispatch = EventDispatcher()
    received = []

    @rpc
    def relay(self, value):
        return self.echo.echo(value)

    @rpc
    def relay_missing(self):
        return self.echo.missing()

    @rpc
    def shout(self, value):
        self.dispatch("shouted", {"value": value})

    @event_handler("caller", "shouted")
    def on_shout(self, payload):
        Caller.received.append(payload["value"])


def test_messages_carry_content_type_in_properties(memory_broker):
    with Connection(memory_broker) as connection:
        queue = Queue("probe", Exchange("probe-x", type="topic"), routing_key="#")
        queue(connection.default_channel).declare()
        connection.Producer().publish({"a": 1}, exchange="probe-x", routing_key="k",
                                      serializer="json")
        message = queue(connection.default_channel).get(no_ack=True)
    assert message.properties["content_type"] == "application/json"
    assert message.payload == {"a": 1}


def test_polls_quickly():
    assert memory_transport.Transport.polling_interval <= 0.01


def test_rpc_between_services(memory_broker, container_factory):
    container_factory(Echo).start()
    caller = container_factory(Caller)
    caller.start()
    with entrypoint_hook(caller, "relay") as relay:
        assert relay("hello") == {"echoed": "hello"}
    with entrypoint_hook(caller, "relay_missing") as relay_missing:
        with pytest.raises(NotFound) as error:
            relay_missing()
    assert error.value.fields == {"id": ["unknown"]}


def test_events_between_services(memory_broker, container_factory):
    Caller.received.clear()
    container = container_factory(Caller)
    container.start()
    with entrypoint_waiter(container, "on_shout"):
        with entrypoint_hook(container, "shout") as shout:
            shout("hi")
    assert Caller.received == ["hi"]
