"""RPC clients with a deadline.

nameko 3's RPC call waits for its reply forever. `ServiceClient` gives each request message a
TTL (`expiration`), so a request nobody consumed in time is dropped by the broker instead of being
executed long after its caller gave up; the caller bounds its wait with `deadline()`."""
import eventlet
from nameko.rpc import ServiceRpc

from shared import config
from shared.errors import LisaError


class ServiceUnavailable(LisaError):
    status = 503
    code = "unavailable"


class ServiceClient(ServiceRpc):
    def setup(self):
        self.publisher_options["expiration"] = config.rpc_timeout_seconds()
        super().setup()


def deadline() -> eventlet.Timeout:
    """`with deadline():` around RPC calls; raises ServiceUnavailable when they take too long."""
    return eventlet.Timeout(config.rpc_timeout_seconds(),
                            ServiceUnavailable("A service did not answer in time."))
