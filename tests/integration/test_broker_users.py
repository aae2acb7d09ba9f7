"""`lisa.cli broker-setup` on the real RabbitMQ: one user per service, which may write only to
its own exchanges. Users are global to the broker, so each test uses its own prefix and deletes
its users afterwards."""
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


def publish(uri, exchange, **properties):
    with Connection(uri, transport_options={"confirm_publish": True}) as connection:
        connection.Producer().publish({"forged": True}, exchange=exchange, routing_key="x",
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
        publish(tags, Exchange("tags.events", type="topic", durable=True),
                user_id=f"{env['LISA_BROKER_USER_PREFIX']}incidents")
    with pytest.raises(AccessRefused):   # nor through a queue that dead-letters elsewhere
        with Connection(tags) as connection:
            Queue("tags.delay.5ms", queue_arguments={
                "x-dead-letter-exchange": "incidents.events"})(connection.channel()).declare()
    publish(tags, Exchange("tags.events", type="topic", durable=True),
            user_id=f"{env['LISA_BROKER_USER_PREFIX']}tags")   # its own: allowed
    publish(env["LISA_INCIDENTS_AMQP_URI"], incidents_events,
            user_id=f"{env['LISA_BROKER_USER_PREFIX']}incidents")
