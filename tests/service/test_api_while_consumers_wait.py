"""The tags API answers while its consumers wait on an absent incidents service: handlers make
their RPC before any transaction (on SQLite, before the database's lock) and take at most
`LISA_EVENT_WORKERS` workers."""
from kombu import Connection, Exchange, Queue

from shared import events
from tests.conftest import ANTENNA, running_platform
from tests.service.test_event_order_and_trust import NOW, incident_facts


def test_the_tags_api_answers_while_consumers_wait_on_an_absent_incidents_service(tmp_path):
    env = {"LISA_RPC_TIMEOUT_SECONDS": "8", "LISA_MAX_WORKERS": "10"}
    with running_platform(tmp_path, only=("gateway", "tags"), env=env) as api:
        api.token("tags")
        rpc = Exchange("nameko-rpc", type="topic", durable=True)
        incidents_events = Exchange("incidents.events", type="topic", durable=True)
        with Connection("lisa-memory://localhost/") as connection:
            # the incidents service is away: its requests wait in its queue, unanswered
            Queue("rpc-incidents", rpc, routing_key="incidents.*")(
                connection.default_channel).declare()
            for n in range(1, 16):
                connection.Producer().publish(events.build(
                    "incidents", "incident_reported",
                    {**incident_facts(n), "channel": "desk", "reported_at": NOW,
                     "sla_due_at": NOW}, antenna_id=ANTENNA, correlation_id="c"),
                    exchange=incidents_events, routing_key="incident_reported",
                    declare=[incidents_events], serializer="json")
        answers = [api.call("GET", "/api/v1/tag-jobs", "tags").status_code for _ in range(5)]
    assert answers == [200] * 5
