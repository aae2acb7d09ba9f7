"""The RPC client declares its reply queue until a request has gone through, and again after a
failed publish, instead of before every request (docs/adr/0034-report-pipeline-speed.md)."""
import pytest
from kombu import Exchange, Queue
from kombu.exceptions import OperationalError
from nameko.amqp.publish import Publisher

from shared.rpc import ReplyQueueDeclaredOnce, ServiceClient

REPLIES = Queue("rpc.reply-gateway-x", Exchange("nameko-rpc", type="topic"), auto_delete=True)


def test_the_reply_queue_is_declared_until_a_request_went_through(monkeypatch):
    declared = []
    outcomes = iter([ConnectionError("broker away"), None, None, ConnectionError("restarted"),
                     None, None])

    def publish(self, payload, **kwargs):   # what nameko's Publisher would declare and send
        declared.append([queue.name for queue in self.declare])
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome

    monkeypatch.setattr(Publisher, "publish", publish)
    publisher = ReplyQueueDeclaredOnce("memory://", declare=[REPLIES])
    for _ in range(6):
        try:
            publisher.publish({"args": []})
        except ConnectionError:
            pass
    name = REPLIES.name
    assert declared == [[name], [name], [], [], [name], []]


def test_service_clients_use_it_and_a_failed_publish_still_fails_loudly():
    assert ServiceClient.publisher_cls is ReplyQueueDeclaredOnce
    publisher = ReplyQueueDeclaredOnce("pyamqp://guest:guest@127.0.0.1:1//", declare=[REPLIES],
                                       retry=False)
    with pytest.raises(OperationalError):
        publisher.publish({"args": []})
    assert publisher.declare == [REPLIES]
