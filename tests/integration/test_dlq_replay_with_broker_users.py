"""Dead letters replayed on the real RabbitMQ where every service connects as its own broker user
(review of issues 7, 8 and 13, finding 1). A consumer believes a retry only from its own user,
so a replay published as the operator was refused and parked: the letter was lost to the
operator's one documented procedure. Now `dlq-replay` reads as the operator and republishes as
the consumer's own user, or keeps the letter and names the variable it needs."""
import re

import pytest
from kombu import Connection, Exchange, Queue

from lisa.local import fresh_keys
from shared.handlers import DEAD_LETTER_EXCHANGE, Delivery, letter_for, list_dead_letters
from shared.topology import event_queue_name
from tests.conftest import eventually
from tests.integration.conftest import cli
from tests.integration.test_distributed import GRAFFITI

pytestmark = pytest.mark.integration

CONSUMER = "tags.on_incident_reported"


@pytest.fixture
def platform_env(broker_users):
    result = cli(broker_users, "broker-setup")
    assert result.returncode == 0, result.stderr
    return {**fresh_keys(), **broker_users}


def consumed(deployment, outcome: str) -> float:
    pattern = re.compile(r'^lisa_events_consumed_total\{([^}]*)\} ([0-9.e+]+)$', re.MULTILINE)
    return sum(float(value) for labels, value in pattern.findall(deployment.metrics("tags"))
               if f'consumer="{CONSUMER}"' in labels and f'outcome="{outcome}"' in labels)


def test_a_dead_letter_is_replayed_as_its_consumer_not_parked(distributed_platform):
    deployment = distributed_platform
    env, admin = deployment.env, deployment.env["LISA_AMQP_URI"]
    prefix = env["LISA_BROKER_USER_PREFIX"]
    # a copy of the real incident_reported, as the broker delivered it (validated user_id)
    capture = Queue("capture-incident-reported", exclusive=False, auto_delete=False,
                    exchange=Exchange("incidents.events", type="topic", durable=True),
                    routing_key="incident_reported")
    with Connection(admin) as connection:
        capture(connection.default_channel).declare()
    deployment.api.call("POST", "/api/v1/incidents", "desk", json=GRAFFITI)
    with Connection(admin) as connection:
        bound = capture(connection.default_channel)
        message = eventually(lambda: bound.get(no_ack=True))
        body, user_id = message.payload, message.properties.get("user_id")
    assert user_id == f"{prefix}incidents"
    eventually(lambda: consumed(deployment, "processed") >= 1)

    # the letter tags' DeadLetters would have written, as tags' own broker user
    queue = event_queue_name("incidents", "incident_reported", "tags", "on_incident_reported")
    letter = letter_for(CONSUMER, queue, "incidents", "incident_reported", "rejected: test",
                        Delivery(exchange="incidents.events", routing_key="incident_reported",
                                 user_id=user_id), body=body)
    with Connection(env["LISA_TAGS_AMQP_URI"],
                    transport_options={"confirm_publish": True}) as connection:
        connection.Producer().publish(letter, exchange=DEAD_LETTER_EXCHANGE,
                                      routing_key=CONSUMER, serializer="json",
                                      delivery_mode=2, user_id=f"{prefix}tags")
    assert len(list_dead_letters(admin)) == 1

    # 1. the operator alone (no service's URI): the letter is kept, the variable named
    operator_only = {name: value for name, value in env.items()
                     if not (name.endswith("_AMQP_URI") and name != "LISA_AMQP_URI")}
    refused = cli(operator_only, "dlq-replay")
    assert refused.returncode != 0 and "LISA_TAGS_AMQP_URI" in refused.stderr, refused.stderr
    assert "replayed 0, parked 0, left 1" in refused.stdout
    assert len(list_dead_letters(admin)) == 1 and list_dead_letters(admin, parked=True) == []

    # 2. with the consumer's own URI: replayed as tags, accepted (a duplicate, already claimed)
    replayed = cli({**operator_only, "LISA_TAGS_AMQP_URI": env["LISA_TAGS_AMQP_URI"]},
                   "dlq-replay")
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed 1, parked 0, left 0" in replayed.stdout
    eventually(lambda: consumed(deployment, "duplicate") >= 1)
    assert list_dead_letters(admin) == [] and list_dead_letters(admin, parked=True) == []
    assert consumed(deployment, "rejected") == 0 and consumed(deployment, "parked") == 0
