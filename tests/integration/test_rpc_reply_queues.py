"""RPC reply queues are declared classic, explicitly (review of issues 7, 8 and 13, finding 8):
nameko's reply queue is durable and not exclusive, so a broker with `default_queue_type =
quorum` (deploy/rabbitmq/rabbitmq.conf) would make each process's reply queue a replicated Raft
queue. Checked on the real RabbitMQ, with the queue's own arguments as the broker holds them."""
import nameko
import pytest
from nameko.rpc import rpc

from lisa.local import rabbitmqctl
from shared.rpc import ServiceClient
from tests.conftest import eventually

pytestmark = pytest.mark.integration


class Caller:
    name = "caller"
    tags = ServiceClient("tags")

    @rpc
    def ping(self):
        return "pong"


def reply_queues(vhost: str) -> list[str]:
    rows = rabbitmqctl("list_queues", "-p", vhost, "name", "arguments").splitlines()
    return [row for row in rows if row.startswith("rpc.reply-caller-")]


def test_the_reply_queue_is_classic_whatever_the_default_queue_type(rabbit_uri,
                                                                     container_factory):
    vhost = rabbit_uri.rsplit("/", 1)[1]
    with nameko.config.patch({"AMQP_URI": rabbit_uri}):
        container = container_factory(Caller)
        container.start()
        [row] = eventually(lambda: reply_queues(vhost))
    assert "x-queue-type" in row and "classic" in row, row
