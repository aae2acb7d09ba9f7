"""`lisa.cli broker-setup` on the real RabbitMQ: one user per service, which may write only to
its own exchanges. Users are global to the broker, so each test uses its own prefix and deletes
its users afterwards."""
import uuid

import pytest
from amqp.exceptions import AccessRefused, PreconditionFailed
from kombu import Connection, Exchange, Queue

from lisa import platform
from shared.topology import declare_event_queues
from tests.integration.conftest import cli, user_env

pytestmark = pytest.mark.integration


def setup_broker(env):
    """What `migrate` does on the broker (as the operator), then the users, twice over."""
    admin = env["LISA_AMQP_URI"]
    declare_event_queues(admin, platform.service_classes(), (0.5, 1))
    with Connection(admin) as connection:
        for spec in platform.specs():
            Exchange(f"{spec.name}.events", type="topic", durable=True)(
                connection.default_channel).declare()
    for _ in range(2):  # idempotent
        result = cli(env, "broker-setup")
        assert result.returncode == 0, result.stderr


def publish(uri, exchange, routing_key="x", **properties):
    with Connection(uri, transport_options={"confirm_publish": True}) as connection:
        connection.Producer().publish({"forged": True}, exchange=exchange,
                                      routing_key=routing_key,
                                      serializer="json", **properties)


def test_broker_setup_refuses_a_missing_or_shared_user(rabbit_uri):
    env = user_env(rabbit_uri)
    del env["LISA_TAGS_AMQP_URI"]
    env["LISA_REFERRALS_AMQP_URI"] = rabbit_uri
    result = cli(env, "broker-setup")
    assert result.returncode != 0
    assert "LISA_TAGS_AMQP_URI is not set" in result.stderr
    assert "LISA_REFERRALS_AMQP_URI must connect as" in result.stderr


def test_each_service_user_writes_only_to_its_own_exchanges(broker_users):
    env = broker_users
    setup_broker(env)
    tags = env["LISA_TAGS_AMQP_URI"]
    incidents_events = Exchange("incidents.events", type="topic", durable=True)
    with pytest.raises(AccessRefused):
        publish(tags, incidents_events)
    with pytest.raises(AccessRefused):   # nor straight into a queue through the default exchange
        publish(tags, "")
    with pytest.raises(AccessRefused):   # nor into incidents' retry path
        publish(tags, Exchange("incidents.retry", type="direct", durable=True))
    with pytest.raises(PreconditionFailed):   # nor under another user's name
        publish(tags, Exchange("tags.events", type="topic", durable=True), "job_completed",
                user_id=f"{env['LISA_BROKER_USER_PREFIX']}incidents")
    with pytest.raises(AccessRefused):   # nor through a queue that dead-letters elsewhere
        with Connection(tags) as connection:
            Queue("tags.delay.5ms", queue_arguments={
                "x-dead-letter-exchange": "incidents.events"})(connection.channel()).declare()
    publish(tags, Exchange("tags.events", type="topic", durable=True), "job_completed",
            user_id=f"{env['LISA_BROKER_USER_PREFIX']}tags")   # its own: allowed
    publish(env["LISA_INCIDENTS_AMQP_URI"], incidents_events, "incident_reported",
            user_id=f"{env['LISA_BROKER_USER_PREFIX']}incidents")


# -- review of issue 7, finding 2: nothing shared is configurable, nothing foreign is readable ----

def refused(uri, action):
    """`action(channel)` on a fresh connection as `uri`'s user is refused by the broker."""
    with Connection(uri) as connection:
        channel = connection.channel()
        with pytest.raises(AccessRefused):
            action(channel)


def test_a_service_user_cannot_bind_to_another_services_exchange(broker_users):
    env = broker_users
    setup_broker(env)
    tags = env["LISA_TAGS_AMQP_URI"]
    own = "rpc.reply-tags-" + uuid.uuid4().hex    # a queue name tags may declare
    with Connection(tags) as connection:
        Queue(own, queue_arguments={"x-expires": 60000})(connection.channel()).declare()
    # reading another service's events by binding its own queue to them
    refused(tags, lambda channel: channel.queue_bind(own, "incidents.events", "#"))
    refused(tags, lambda channel: channel.queue_bind(own, "incidents.events",
                                                     "incident_reported"))
    # re-declaring (or deleting) what is not its own: the RPC exchange, another's exchange,
    # the event queues migrate bound
    refused(tags, lambda channel: channel.exchange_declare("nameko-rpc", "topic", durable=True,
                                                           auto_delete=False))
    refused(tags, lambda channel: channel.exchange_declare("incidents.events", "topic",
                                                           durable=True, auto_delete=False))
    refused(tags, lambda channel: channel.exchange_delete("incidents.events"))
    refused(tags, lambda channel: channel.queue_delete(
        "evt-incidents-incident_reported--tags.on_incident_reported"))
    # its own objects and its own RPC keys remain usable
    with Connection(tags) as connection:
        channel = connection.channel()
        channel.exchange_declare("nameko-rpc", "topic", durable=True, auto_delete=False,
                                 passive=True)
        channel.queue_bind(own, "nameko-rpc", f"reply.tags.{uuid.uuid4()}")
        channel.exchange_declare("tags.events", "topic", durable=True, auto_delete=False)


def test_a_service_user_cannot_harvest_rpc_requests_or_replies(broker_users):
    env = broker_users
    setup_broker(env)
    tags, admin = env["LISA_TAGS_AMQP_URI"], env["LISA_AMQP_URI"]
    own = "rpc.reply-tags-" + uuid.uuid4().hex
    with Connection(tags) as connection:
        Queue(own, queue_arguments={"x-expires": 60000})(connection.channel()).declare()
    # binding everything on the RPC exchange: every request (identity headers) and reply
    refused(tags, lambda channel: channel.queue_bind(own, "nameko-rpc", "#"))
    refused(tags, lambda channel: channel.queue_bind(own, "nameko-rpc", "reply.#"))
    refused(tags, lambda channel: channel.queue_bind(own, "nameko-rpc", "incidents.*"))
    refused(tags, lambda channel: channel.queue_bind(own, "nameko-rpc",
                                                     f"reply.incidents.{uuid.uuid4()}"))
    # consuming another service's reply queue or request queue directly
    theirs = f"rpc.reply-incidents-{uuid.uuid4()}"
    with Connection(admin) as connection:
        Queue(theirs, queue_arguments={"x-expires": 60000})(connection.channel()).declare()
        Queue("rpc-incidents", durable=True)(connection.channel()).declare()
    refused(tags, lambda channel: channel.basic_consume(theirs, callback=lambda m: None))
    refused(tags, lambda channel: channel.basic_get(theirs))
    refused(tags, lambda channel: channel.basic_consume("rpc-incidents",
                                                        callback=lambda m: None))


def test_a_service_publishes_only_its_own_event_types(broker_users):
    env = broker_users
    setup_broker(env)
    tags = env["LISA_TAGS_AMQP_URI"]
    user = f"{env['LISA_BROKER_USER_PREFIX']}tags"
    with Connection(tags, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer()
        producer.publish({"ok": True}, exchange="tags.events", routing_key="job_completed",
                         serializer="json", user_id=user)
    with pytest.raises(AccessRefused):
        with Connection(tags, transport_options={"confirm_publish": True}) as connection:
            connection.Producer().publish({"forged": True}, exchange="tags.events",
                                          routing_key="incident_reported", serializer="json",
                                          user_id=user)
