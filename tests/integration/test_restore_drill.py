"""The restore drill of deploy/README.md (Backup and restore), on the local PostgreSQL: with the
platform running, dump every service's database (`pg_dump -Fc`), lose them (DROP DATABASE),
restore each from its dump (`pg_restore`) into a fresh database of the same name, and the
running platform reads its data back through the API: an incident, a referral whose content
is sealed at rest (readable again with the same keys), the audit of who read it.

The databases are the throwaway ones of the `distributed_platform` fixture."""
import shutil
import subprocess
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from lisa import platform
from shared.db import normalise_url
from tests.conftest import IN_CI, POSTGRES_ADMIN_URL, eventually

pytestmark = pytest.mark.integration


def libpq_url(url: str) -> str:
    """What pg_dump and pg_restore take: the URL without SQLAlchemy's driver name."""
    return "postgresql://" + url.split("://", 1)[1]


def run(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{' '.join(command[:2])}: {result.stderr}"


@pytest.fixture
def postgres_tools():
    missing = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]
    if missing:
        message = f"{', '.join(missing)} not installed (apt-get install postgresql-client)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def test_dump_drop_restore_and_the_platform_reads_its_data_back(
        postgres_tools, distributed_platform, tmp_path):
    api = distributed_platform.api
    incident = api.call("POST", "/api/v1/incidents", "desk", json={
        "category": "street_lighting", "description": "Lampadaire éteint depuis une semaine.",
        "channel": "desk", "reporter": {"name": "Mme Peeters", "phone": "+32 470 12 34 56",
                                           "may_contact": True},
        "location": {"address": "Rue du Page 12, 1050 Ixelles", "lat": 50.8262,
                     "lon": 4.3649}})
    assert incident.status_code == 201, incident.text
    incident_path = f"/api/v1/incidents/{incident.json()['incident']['id']}"
    message = "Accompagnement demandé, rendez-vous mardi."
    referral = api.call("POST", "/api/v1/referrals", "streetworker", json={
        "receiver_service": "addiction_outreach", "subject": "person", "reason": "addiction",
        "urgency": "normal", "message": message, "client_key": "SW-DRILL-1",
        "identity": {"name": "Client Drill"},
        "consent": {"kind": "written", "given_at": datetime.now(UTC).isoformat()}})
    assert referral.status_code == 201, referral.text
    referral_path = f"/api/v1/referrals/{referral.json()['id']}"

    def snapshot() -> dict:
        read_incident = api.call("GET", incident_path, "coordinator")
        read_referral = api.call("GET", referral_path, "addiction")
        assert read_incident.status_code == 200 and read_referral.status_code == 200
        body = read_referral.json()
        return {"incident": read_incident.json(),
                "referral": {k: v for k, v in body.items() if k != "access"}}

    before = snapshot()
    assert message in str(before["referral"])   # the sealed content, opened for its receiver

    # the backup: one custom-format dump per service database
    counts_before = row_counts(distributed_platform)
    dumps = {}
    for spec in platform.specs():
        dumps[spec.name] = tmp_path / f"{spec.name}.dump"
        run("pg_dump", "--format=custom", "--no-owner", f"--file={dumps[spec.name]}",
            libpq_url(distributed_platform.database_url(spec.name)))

    # the disaster: every database lost while the services run
    admin = create_engine(normalise_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT",
                          poolclass=NullPool)
    names = {spec.name: distributed_platform.database_url(spec.name).rsplit("/", 1)[1]
             for spec in platform.specs()}
    with admin.connect() as connection:
        for name in names.values():
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    lost = api.call("GET", incident_path, "coordinator")
    assert lost.status_code != 200

    # the restore: a fresh database of the same name, filled from the dump
    with admin.connect() as connection:
        for name in names.values():
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    for spec in platform.specs():
        run("pg_restore", "--no-owner", "--exit-on-error",
            f"--dbname={libpq_url(distributed_platform.database_url(spec.name))}",
            str(dumps[spec.name]))
    assert row_counts(distributed_platform) == counts_before

    # the running platform reads its data back (its pools reconnect), the same as before
    eventually(lambda: api.call("GET", incident_path, "coordinator").status_code == 200,
               timeout=60)
    after = snapshot()
    assert after == before
    # and it keeps working on the restored data
    triaged = api.call("POST", f"{incident_path}/triage", "coordinator",
                       json={"partner": "public_works"})
    assert triaged.status_code == 200, triaged.text
    health = requests.get(distributed_platform.url(platform.edge().name, "/readyz"), timeout=5)
    assert health.status_code == 200


def row_counts(deployment) -> dict[str, int]:
    """Rows in every table of every service's database."""
    counts = {}
    for spec in platform.specs():
        engine = create_engine(normalise_url(deployment.database_url(spec.name)),
                               poolclass=NullPool)
        with engine.connect() as connection:
            for table in spec.metadata.sorted_tables:
                counts[f"{spec.name}.{table.name}"] = connection.execute(
                    text(f'SELECT count(*) FROM "{table.name}"')).scalar_one()
        engine.dispose()
    return counts
