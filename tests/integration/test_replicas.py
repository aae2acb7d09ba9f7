"""Scale-out on one machine (`make run REPLICAS=...`, `lisa.cli run --replicas`): two replicas of
each service that consumes events, on the real RabbitMQ and PostgreSQL, share the work (both
consume), process nothing twice, get the order-sensitive effects right (a graffiti incident
reported, then at once reclassified as litter, whose two events two tags replicas may take at
the same time; a removal job scheduled then completed at once, whose two events
two incidents replicas may take in either order) and end where one replica of each ends.

Each deployment has its own throwaway vhost and databases (tests/integration/conftest.py)."""
import contextlib
import subprocess
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from lisa import demo, platform
from lisa.cli import REPLICA_PORT_STEP
from lisa.local import drop_databases, fresh_keys, rabbitmqctl, stop_group, wait_ready
from shared.calendar import BRUSSELS
from tests.conftest import ANTENNA, POSTGRES_ADMIN_URL, ROOT, eventually
from tests.integration.conftest import (
    Deployment,
    cli,
    deployment_env,
    throwaway_vhost,
    user_env,
)

pytestmark = pytest.mark.integration

INCIDENTS = 12   # i % 3 == 0: reclassified at once; 1: job done at once; 2: job scheduled


def consuming_services() -> list[str]:
    return [spec.name for spec in platform.specs() if spec.consumes]


@contextlib.contextmanager
def deployment(replicas: dict[str, int], tmp_path: Path):
    """`lisa.cli run --replicas ...` on a vhost and databases of its own."""
    prefix = f"lisa_rep_{uuid.uuid4().hex[:8]}"
    tmp_path.mkdir(parents=True, exist_ok=True)
    with throwaway_vhost() as rabbit_uri, broker_users_on(rabbit_uri) as users:
        # every replica connects as its service's own broker user, as deployed (review of
        # issues 7, 8 and 13, finding 11): the permissions must allow what replicas do
        env, ports = deployment_env(rabbit_uri, prefix, tmp_path, {**fresh_keys(), **users})
        log_path = tmp_path / f"{prefix}.log"
        argument = ",".join(f"{name}={count}" for name, count in replicas.items())
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "lisa.cli", "run", *(["--replicas", argument]
                                                            if argument else [])],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            running = Deployment(env, ports, log_path, process)
            try:
                running.wait_ready()
                for name, count in replicas.items():
                    for replica in range(1, count):
                        wait_ready(replica_url(running, name, replica, "/readyz"), process)
                demo.seed_accounts(running.database, ANTENNA)
                yield running
            finally:
                stop_group(process)
                print(log_path.read_text()[-3000:])
                drop_databases(POSTGRES_ADMIN_URL, prefix)


@contextlib.contextmanager
def broker_users_on(rabbit_uri: str):
    """One broker user per service on the vhost (`broker-setup`), deleted afterwards."""
    users = user_env(rabbit_uri)
    try:
        result = cli(users, "broker-setup")
        assert result.returncode == 0, result.stderr
        yield users
    finally:
        for spec in platform.specs():
            with contextlib.suppress(RuntimeError):
                rabbitmqctl("delete_user", f"{users['LISA_BROKER_USER_PREFIX']}{spec.name}")


def replica_url(running: Deployment, name: str, replica: int, path: str) -> str:
    return f"http://127.0.0.1:{running.ports[name] + REPLICA_PORT_STEP * replica}{path}"


def consumed(running: Deployment, name: str, replica: int) -> Counter:
    """(consumer, outcome) -> events this replica's consumers received."""
    text = requests.get(replica_url(running, name, replica, "/metrics"), timeout=5).text
    counts: Counter = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "lisa_events_consumed_total":
                counts[sample.labels["consumer"], sample.labels["outcome"]] += int(sample.value)
    return counts


def all_consumed(running: Deployment, replicas: dict[str, int]) -> Counter:
    total: Counter = Counter()
    for name in consuming_services():
        for replica in range(replicas.get(name, 1)):
            total += consumed(running, name, replica)
    return total


def resident_memory(pid: int) -> list[tuple[str, int]]:
    """(service, VmRSS in MiB) of each process `lisa.cli run` started: k8s/ sizes from these."""
    found = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            arguments = Path(f"/proc/{child}/cmdline").read_text().split("\0")
            status = Path(f"/proc/{child}/status").read_text()
        except FileNotFoundError:
            continue
        rss = next(int(line.split()[1]) for line in status.splitlines()
                   if line.startswith("VmRSS:"))
        found.append((arguments[arguments.index("service") + 1], rss // 1024))
    return sorted(found)


def report(api, index: int) -> dict:
    body = {"category": "graffiti_private", "channel": "desk",
            "description": f"Tag numéro {index} sur la façade.",
            "location": {"address": f"Rue Malibran {index + 1}, 1050 Ixelles",
                         "lat": 50.8300 + index * 0.0004, "lon": 4.3735, "neighbourhood": "Flagey"}}
    response = api.call("POST", "/api/v1/incidents", "desk", json=body)
    assert response.status_code == 201, response.text
    return response.json()["incident"]


def jobs_of(api, incident_id: str) -> list[dict]:
    return api.call("GET", f"/api/v1/tag-jobs?incident_id={incident_id}", "tags").json()["items"]


def scenario(running: Deployment, replicas: dict[str, int]) -> dict:
    """The same work for every deployment; returns where it ends, incident by incident."""
    api = running.api
    for name in ("Karim", "Sofie"):   # a deployment starts with no crew; jobs need members
        assert api.call("POST", "/api/v1/tag-crew", "coordinator",
                        json={"name": name}).status_code == 201
    incidents = []
    for index in range(INCIDENTS):
        incident = report(api, index)
        if index % 3 == 0:   # reported as graffiti, then at once reclassified as litter
            triaged = api.call("POST", f"/api/v1/incidents/{incident['id']}/triage",
                               "coordinator", json={"category": "litter"})
            assert triaged.status_code == 200, triaged.text
        incidents.append(incident)
    triaged_count = len(range(0, INCIDENTS, 3))

    def tags_took_every_event():
        counts = all_consumed(running, replicas)
        return (sum(n for (c, _), n in counts.items() if c == "tags.on_incident_reported")
                == INCIDENTS and
                sum(n for (c, _), n in counts.items() if c == "tags.on_incident_triaged")
                == triaged_count)

    eventually(tags_took_every_event, timeout=90)
    today = datetime.now(BRUSSELS).date().isoformat()
    for index, incident in enumerate(incidents):
        if index % 3 == 0:
            continue
        [job] = eventually(lambda incident=incident: jobs_of(api, incident["id"]), timeout=60)
        path = f"/api/v1/tag-jobs/{job['id']}"
        steps = [("consent", "tags", {"owner": f"Propriétaire {index}",
                                      "given_at": datetime.now(UTC).isoformat(),
                                      "waiver_reference": f"WAIVER-{index}"}),
                 ("schedule", "coordinator", {"date": today, "crew": ["Karim", "Sofie"]})]
        if index % 3 == 1:   # scheduled and completed at once: two events close together
            steps.append(("complete", "tags", {"removed_m2": 2.0, "method": "chemical",
                                               "minutes_spent": 30, "crew": ["Karim"]}))
        for action, user, body in steps:
            response = api.call("POST", f"{path}/{action}", user, json=body)
            assert response.status_code == 200, f"{action}: {response.text}"
    scheduled = len([i for i in range(INCIDENTS) if i % 3 != 0])
    completed = len([i for i in range(INCIDENTS) if i % 3 == 1])

    def incidents_took_every_event():
        counts = all_consumed(running, replicas)
        return (sum(n for (c, _), n in counts.items() if c == "incidents.on_job_scheduled")
                == scheduled and
                sum(n for (c, _), n in counts.items() if c == "incidents.on_job_completed")
                == completed)

    eventually(incidents_took_every_event, timeout=90)
    ends = {}
    for index, incident in enumerate(incidents):
        read = api.call("GET", f"/api/v1/incidents/{incident['id']}", "coordinator").json()
        statuses = [change["to_status"] for change in read["history"]]
        # the active jobs: a job made and cancelled at once, or never made, both end with none
        ends[index] = {"status": read["status"], "partner": read["partner"],
                       "category": read["category"],
                       "jobs": sorted(job["status"] for job in jobs_of(api, incident["id"])
                                      if job["status"] != "cancelled"),
                       "statuses": statuses}
    return ends


def test_two_replicas_of_each_consumer_share_the_work_and_end_as_one_replica(
        brokers_available, tmp_path):
    replicas = {name: 2 for name in consuming_services()}
    assert replicas, "no registered service consumes events"
    with deployment(replicas, tmp_path / "two") as running:
        two = scenario(running, replicas)
        print("resident memory after the scenario (MiB):", resident_memory(running.process.pid))
        per_replica = {(name, replica): consumed(running, name, replica)
                       for name in replicas for replica in range(2)}
        restarts = running.restarts()
    with deployment({}, tmp_path / "one") as running:
        one = scenario(running, {})

    # both replicas of every consuming service consumed events
    for (name, replica), counts in per_replica.items():
        assert sum(n for (_, outcome), n in counts.items() if outcome == "processed") > 0, \
            f"{name} replica {replica} consumed nothing: {dict(counts)}"
    # nothing processed twice, nothing dead-lettered: each event once, by one replica
    total = sum(per_replica.values(), Counter())
    assert {outcome for (_, outcome) in total} == {"processed"}, dict(total)
    assert total["tags.on_incident_reported", "processed"] == INCIDENTS
    assert restarts == 0
    # order-sensitive effects: reclassified at once -> no job left active; scheduled then
    # completed at once -> resolved (never back to in progress); scheduled -> in progress
    for index, end in two.items():
        if index % 3 == 0:
            assert end["category"] == "litter" and end["jobs"] == [], end
        elif index % 3 == 1:
            assert end["status"] == "resolved" and end["jobs"] == ["done"], end
            assert end["statuses"][-1] == "resolved", end
        else:
            assert end["status"] == "in_progress" and end["jobs"] == ["scheduled"], end
    # and the same ends as with one replica of each
    assert two == one
