"""Review of issues 7, 8 and 13, finding 3, on the real RabbitMQ: a quorum event queue whose
message is requeued again and again (the "broker keeps it" path) must not drop it. RabbitMQ 4
gives quorum queues a delivery limit of 20 and then drops the message unless the queue
dead-letters; the platform's policy (`topology.event_queue_policy`, set by `broker-setup`)
sets the limit explicitly and dead-letters to `lisa.dead-letter`, where `dlq-list` shows the
event with its consumer and `dlq-replay` sends it back to that consumer only."""
import json
import time

import pytest
from kombu import Connection, Exchange, Queue, binding

from lisa.broker import set_event_queue_policy
from lisa.local import rabbitmqctl
from shared import topology
from shared.handlers import (
    PUBLISHER_HEADER,
    REPLAYS_HEADER,
    list_dead_letters,
    replay_dead_letters,
)
from tests.conftest import eventually
from tests.integration.conftest import cli
from tests.unit.test_outbox_and_handlers import envelope

pytestmark = pytest.mark.integration

QUEUE = topology.event_queue_name("incidents", "incident_reported", "tags",
                                  "on_incident_reported")


def quorum_event_queue() -> Queue:
    """The tags consumer's event queue as a broker with `default_queue_type = quorum` makes it
    (RabbitMQ here is older: the type is asked for explicitly)."""
    return Queue(QUEUE, durable=True, auto_delete=False, queue_arguments={
        "x-queue-type": "quorum"}, bindings=[
        binding(Exchange("incidents.events", type="topic", durable=True),
                routing_key="incident_reported"),
        binding(topology.retry_exchange("tags"), routing_key=QUEUE)])


def policy_of(vhost: str) -> str:
    rows = rabbitmqctl("list_queues", "-p", vhost, "name", "policy").splitlines()
    return next((row.split()[1] for row in rows if row.split() and row.split()[0] == QUEUE
                 and len(row.split()) > 1), "")


def poll(bound, seconds: float = 3.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = bound.get(no_ack=False)
        if message is not None:
            return message
        time.sleep(0.05)
    return None


def test_a_message_past_the_delivery_limit_is_dead_lettered_not_dropped(rabbit_uri,
                                                                         monkeypatch):
    monkeypatch.setenv("LISA_AMQP_URI", rabbit_uri)   # the operator's, as for `dlq-replay`
    vhost = rabbit_uri.rsplit("/", 1)[1]
    limit = 3
    with Connection(rabbit_uri) as connection:
        channel = connection.default_channel
        for queue in (topology.DEAD_LETTER_QUEUE, topology.PARKED_QUEUE, quorum_event_queue()):
            queue(channel).declare()
    set_event_queue_policy(vhost, topology.event_queue_policy(delivery_limit=limit))
    assert eventually(lambda: policy_of(vhost)) == topology.EVENT_QUEUE_POLICY

    body = envelope(7)
    with Connection(rabbit_uri, transport_options={"confirm_publish": True}) as connection:
        connection.Producer().publish(body, exchange="incidents.events",
                                      routing_key="incident_reported", serializer="json",
                                      user_id="guest")
        bound = quorum_event_queue()(connection.default_channel)
        # a consumer that cannot settle it, again and again: the broker gets it back each time
        for _ in range(limit + 5):
            message = poll(bound)
            if message is None:
                break
            message.requeue()
        else:
            pytest.fail("the message is still in its queue after more than its delivery limit")

    [letter] = eventually(lambda: list_dead_letters(rabbit_uri))
    assert letter["consumer"] == "tags.on_incident_reported" and letter["queue"] == QUEUE
    assert letter["source"] == "incidents" and letter["event_type"] == "incident_reported"
    assert letter["reason"].startswith("delivery_limit") and letter["by_broker"] is True
    assert letter["event_id"] == body["event_id"] and letter["publisher"] == "guest"
    assert json.loads(json.dumps(letter["body"], default=str))["event_id"] == body["event_id"]

    # replayed to its consumer's queue only, through its service's retry exchange, with the
    # publisher the broker validated at the first publication
    assert replay_dead_letters(rabbit_uri) == {"replayed": 1, "parked": 0, "kept": 0}
    with Connection(rabbit_uri) as connection:
        bound = quorum_event_queue()(connection.default_channel)
        message = eventually(lambda: bound.get(no_ack=True))
    assert message.payload["event_id"] == body["event_id"]
    assert message.headers[REPLAYS_HEADER] == 1 and message.headers[PUBLISHER_HEADER] == "guest"
    assert message.delivery_info["exchange"] == "tags.retry"
    assert list_dead_letters(rabbit_uri) == []


def test_broker_setup_sets_the_event_queue_policy(broker_users):
    """`broker-setup` (what compose and `make run` deployments run) puts the policy on the
    services' vhost, with the limit and the dead-letter exchange."""
    result = cli(broker_users, "broker-setup")
    assert result.returncode == 0, result.stderr
    vhost = broker_users["LISA_AMQP_URI"].rsplit("/", 1)[1]
    listed = rabbitmqctl("list_policies", "-p", vhost, "--formatter", "json")
    [policy] = [p for p in json.loads(listed) if p["name"] == topology.EVENT_QUEUE_POLICY]
    definition = policy["definition"]
    if isinstance(definition, str):
        definition = json.loads(definition)
    assert policy["pattern"] == "^evt-" and policy["apply-to"] == "queues"
    assert definition == topology.event_queue_policy()["definition"]
