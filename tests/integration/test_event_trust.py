"""The forged-event attack on the real RabbitMQ and PostgreSQL, against `make run` with one broker
user per service: a fabricated `job_completed` (job 999999) published by hand, by anyone who
reaches the broker or even with the tags service's own credentials, moves no incident and lands
in the dead-letter queue with its reason. The normal path still works across both services."""
from datetime import UTC, datetime

import pytest
from kombu import Connection, Exchange

from lisa.local import fresh_keys
from shared import events
from shared.calendar import BRUSSELS
from shared.handlers import PUBLISHER_HEADER, list_dead_letters
from tests.conftest import ANTENNA, eventually
from tests.integration.conftest import cli
from tests.integration.test_distributed import GRAFFITI

pytestmark = pytest.mark.integration


@pytest.fixture
def platform_env(broker_users):
    """Every service connecting as its own broker user, set up by `broker-setup` first."""
    result = cli(broker_users, "broker-setup")
    assert result.returncode == 0, result.stderr
    return {**fresh_keys(), **broker_users}


def forged_job_completed(incident_id, antenna=ANTENNA, job_id=999999):
    return events.build("tags", "job_completed", {
        "job_id": job_id, "incident_id": incident_id, "site_id": 1, "neighbourhood": None,
        "surface": "brick", "ownership": "public", "content": "ordinary", "area_m2": 2.0,
        "priority": 2, "due_at": None, "recurrence": False, "removed_m2": 2.0,
        "method": "chemical", "minutes_spent": 30, "completed_at": datetime.now(UTC),
        "within_deadline": True}, antenna_id=antenna, correlation_id="forged")


def publish_by_hand(uri, body, **properties):
    exchange = Exchange("tags.events", type="topic", durable=True)
    with Connection(uri, transport_options={"confirm_publish": True}) as connection:
        connection.Producer().publish(body, exchange=exchange, routing_key="job_completed",
                                      serializer="json", **properties)


def test_a_forged_job_completed_changes_nothing_and_is_dead_lettered(distributed_platform):
    api, env = distributed_platform.api, distributed_platform.env
    admin = env["LISA_AMQP_URI"]
    tags_user = f"{env['LISA_BROKER_USER_PREFIX']}tags"
    burglary = api.call("POST", "/api/v1/incidents", "desk", json={
        **GRAFFITI, "category": "burglary", "description": "Porte fracturée"}).json()["incident"]

    # 1. anyone who reaches the broker (here its administrator account), this antenna
    publish_by_hand(admin, forged_job_completed(burglary["id"]))
    # 2. the same with the tags service's stolen credentials: the broker says it is tags
    publish_by_hand(env["LISA_TAGS_AMQP_URI"], forged_job_completed(burglary["id"]),
                    user_id=tags_user)
    # 3. as the original attack: another antenna
    publish_by_hand(env["LISA_TAGS_AMQP_URI"],
                    forged_job_completed(burglary["id"], antenna="saint-gilles-bosnie"),
                    user_id=tags_user)

    # 4. another user claiming, in the header the retry path writes, to be the tags user
    publish_by_hand(admin, forged_job_completed(burglary["id"]), user_id="guest",
                    headers={PUBLISHER_HEADER: tags_user})

    # incidents checks all four; the indicators service, which counts every event, refuses
    # the three that are not the owner's or not this antenna's (it does not ask tags about
    # each job: stolen tags credentials could skew a count, never change a record; ADR 22).
    letters = eventually(lambda: len(list_dead_letters(admin)) >= 7 and list_dead_letters(admin))
    by_consumer: dict[str, list[str]] = {}
    for letter in letters:
        by_consumer.setdefault(letter["consumer"], []).append(letter["reason"])
    untrusted = [f"rejected: published by broker user None, not by '{tags_user}'",
                 f"rejected: published by broker user 'guest', not by '{tags_user}'",
                 "rejected: antenna 'saint-gilles-bosnie' is not served here"]
    assert sorted(by_consumer.pop("incidents.on_job_completed")) == sorted(
        [*untrusted, "rejected: removal job 999999 does not exist in antenna 'ixelles-tulipe'"])
    [(indicators, reasons)] = by_consumer.items()
    assert indicators.startswith("indicators.") and sorted(reasons) == sorted(untrusted)
    after = api.call("GET", f"/api/v1/incidents/{burglary['id']}", "coordinator").json()
    assert after["status"] == "new"
    assert all(entry["actor"] != "tags" for entry in after["history"])


def test_the_platform_works_with_one_broker_user_per_service(distributed_platform):
    api, env = distributed_platform.api, distributed_platform.env
    incident = api.call("POST", "/api/v1/incidents", "desk", json=GRAFFITI).json()["incident"]
    jobs_path = f"/api/v1/tag-jobs?incident_id={incident['id']}"
    [job] = eventually(lambda: api.call("GET", jobs_path, "tags").json()["items"])
    today = datetime.now(BRUSSELS).date().isoformat()
    scheduled = api.call("POST", f"/api/v1/tag-jobs/{job['id']}/schedule", "tags",
                         json={"date": today})
    assert scheduled.status_code == 200, scheduled.text
    eventually(lambda: api.call("GET", f"/api/v1/incidents/{incident['id']}",
                                "coordinator").json()["status"] == "in_progress")
    assert list_dead_letters(env["LISA_AMQP_URI"]) == []
