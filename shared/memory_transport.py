"""kombu's in-memory transport, adapted so nameko RPC works on it (embedded mode).

Two differences from `memory://` (docs/adr/0003-embedded-memory-transport.md):

* kombu's virtual Message keeps `content_type` beside `message.properties`, while nameko's RPC
  responder reads `message.properties['content_type']` and fails with KeyError. Our Message
  copies it (and the encoding) into the properties, as py-amqp does.
* The virtual transport polls each queue once a second by default, so every hop waited up to a
  second. We poll every `POLLING_INTERVAL` seconds instead.

Registered under the URI scheme `lisa-memory://` by `register()`; nothing in site-packages is
edited.
"""
from kombu.transport import TRANSPORT_ALIASES, memory, virtual

SCHEME = "lisa-memory"
POLLING_INTERVAL = 0.005


class Message(virtual.Message):
    def __init__(self, payload, channel=None, **kwargs):
        super().__init__(payload, channel=channel, **kwargs)
        self.properties.setdefault("content_type", self.content_type)
        self.properties.setdefault("content_encoding", self.content_encoding)


class Channel(memory.Channel):
    Message = Message


class Transport(memory.Transport):
    Channel = Channel
    polling_interval = POLLING_INTERVAL
    driver_type = SCHEME
    driver_name = SCHEME


def register() -> None:
    TRANSPORT_ALIASES[SCHEME] = f"{__name__}:Transport"


def reset() -> None:
    """Forget every queue and binding: tests start each embedded platform from an empty broker."""
    memory.Channel.queues.clear()
    memory.Channel.events.clear()
    Transport.global_state.clear()


register()
