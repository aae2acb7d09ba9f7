"""Who published an event (review of issue 7, finding 1): the `x-lisa-publisher` header is
believed only on a delivery from this service's own retry exchange whose broker-validated
`user_id` is this service's own user (the retry or replay path that wrote it). On the source
exchange, the validated `user_id` alone counts, whatever the headers claim."""
import pytest

from shared import events
from shared.handlers import PUBLISHER_HEADER, Delivery, Rejected, check_delivery
from tests.unit.test_outbox_and_handlers import envelope


@pytest.fixture
def users(monkeypatch):
    """Every service connects as its own broker user (`lisa-<name>`)."""
    for name in ("incidents", "tags", "flaky"):
        monkeypatch.setenv(f"LISA_{name.upper()}_AMQP_URI",
                           f"pyamqp://lisa-{name}:secret@127.0.0.1:5672/test")
    monkeypatch.setenv("LISA_ANTENNAS", "ixelles-tulipe")


def reported():
    return events.parse(envelope())


def check(delivery):
    check_delivery("flaky", "incidents", "incident_reported", reported(), delivery)


def test_a_forged_publisher_header_on_the_source_exchange_is_not_believed(users):
    forged = Delivery(exchange="incidents.events", routing_key="incident_reported",
                      user_id="lisa-tags", headers={PUBLISHER_HEADER: "lisa-incidents"})
    assert forged.publisher_for("flaky") == "lisa-tags"
    with pytest.raises(Rejected, match="published by broker user 'lisa-tags'"):
        check(forged)
    unsigned = Delivery(exchange="incidents.events", headers={PUBLISHER_HEADER: "lisa-incidents"})
    with pytest.raises(Rejected, match="published by broker user None"):
        check(unsigned)


def test_the_header_counts_only_on_this_services_own_retry_by_its_own_user(users):
    retry = Delivery(exchange="flaky.retry", user_id="lisa-flaky",
                     headers={PUBLISHER_HEADER: "lisa-incidents"})
    assert retry.publisher_for("flaky") == "lisa-incidents"
    check(retry)   # accepted
    stolen = Delivery(exchange="flaky.retry", user_id="lisa-tags",
                      headers={PUBLISHER_HEADER: "lisa-incidents"})
    assert stolen.publisher_for("flaky") == "lisa-tags"
    with pytest.raises(Rejected):
        check(stolen)
    other_retry = Delivery(exchange="tags.retry", user_id="lisa-flaky",
                           headers={PUBLISHER_HEADER: "lisa-incidents"})
    assert other_retry.publisher_for("flaky") == "lisa-flaky"


def test_the_source_exchange_by_its_owner_is_accepted(users):
    check(Delivery(exchange="incidents.events", user_id="lisa-incidents"))
