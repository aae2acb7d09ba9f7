import uuid
from datetime import UTC, datetime

import pytest
from marshmallow import ValidationError

from shared import events

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
FACTS = {"incident_id": 1, "ticket": "LISA-2026-000001", "category": "graffiti_public",
         "parent_category": "graffiti", "phenomenon": "social_nuisances",
         "zone": "public_space", "partner": "cellule_tags", "neighbourhood": "Tulipe"}
REPORTED = {**FACTS, "channel": "desk", "reported_at": NOW, "sla_due_at": NOW}


def build(payload=None, **kwargs):
    return events.build("incidents", "incident_reported", payload or REPORTED,
                        antenna_id="ixelles-tulipe", correlation_id="c-1", **kwargs)


def test_build_gives_a_complete_json_envelope():
    envelope = build()
    assert uuid.UUID(envelope["event_id"])
    assert envelope["event_type"] == "incident_reported"
    assert envelope["schema_version"] == 1
    assert envelope["source"] == "incidents"
    assert envelope["payload"]["reported_at"] == NOW.isoformat()
    assert set(envelope) == {"event_id", "event_type", "schema_version", "occurred_at",
                             "source", "antenna_id", "correlation_id", "payload"}


def test_parse_round_trip():
    event = events.parse(build())
    assert event.payload["ticket"] == "LISA-2026-000001"
    assert event.payload["reported_at"] == NOW
    assert event.occurred_at.tzinfo is not None


def test_publishers_are_strict_about_unknown_fields():
    # e.g. someone adding the citizen's description to the event by mistake
    with pytest.raises(ValidationError) as error:
        build({**REPORTED, "description": "free text"})
    assert "description" in error.value.messages


@pytest.mark.parametrize("change", [
    {"zone": "somewhere"}, {"channel": "pigeon"}, {"incident_id": "x"},
])
def test_publishers_reject_bad_values(change):
    with pytest.raises(ValidationError):
        build({**REPORTED, **change})


def test_missing_field_rejected():
    payload = dict(REPORTED)
    del payload["ticket"]
    with pytest.raises(ValidationError):
        build(payload)


def test_consumers_are_tolerant_readers():
    envelope = build()
    envelope["payload"]["added_in_a_later_minor_change"] = 1
    envelope["unknown_envelope_field"] = 2
    assert "added_in_a_later_minor_change" not in events.parse(envelope).payload


@pytest.mark.parametrize("mutate", [
    lambda e: e.pop("event_id"),
    lambda e: e.update(event_id="not-a-uuid"),
    lambda e: e.update(occurred_at="yesterday"),
    lambda e: e.update(schema_version=0),
    lambda e: e["payload"].pop("ticket"),
])
def test_consumers_reject_broken_envelopes(mutate):
    envelope = build()
    mutate(envelope)
    with pytest.raises(ValidationError):
        events.parse(envelope)


def test_unknown_event_type():
    envelope = build()
    envelope["event_type"] = "something_else"
    with pytest.raises(events.UnknownEventType):
        events.parse(envelope)


def test_newer_version_than_known_is_refused():
    envelope = build()
    envelope["schema_version"] = 2
    with pytest.raises(ValidationError, match="newer"):
        events.parse(envelope)


def test_old_versions_are_upcast(monkeypatch):
    # Pretend incident_reported is at version 2, where version 1 called `partner` `routed_to`.
    version, schema = events.EVENT_TYPES[("incidents", "incident_reported")]
    monkeypatch.setitem(events.EVENT_TYPES, ("incidents", "incident_reported"), (2, schema))

    def v1_to_v2(payload):
        payload = dict(payload)
        payload["partner"] = payload.pop("routed_to")
        return payload

    monkeypatch.setitem(events.UPCASTERS, ("incident_reported", 1), v1_to_v2)
    old = build()
    old["schema_version"] = 1
    old["payload"]["routed_to"] = old["payload"].pop("partner")
    event = events.parse(old)
    assert event.schema_version == 2
    assert event.payload["partner"] == "cellule_tags"


def test_missing_upcaster_is_an_error(monkeypatch):
    version, schema = events.EVENT_TYPES[("incidents", "incident_reported")]
    monkeypatch.setitem(events.EVENT_TYPES, ("incidents", "incident_reported"), (2, schema))
    old = build()
    old["schema_version"] = 1
    with pytest.raises(ValidationError, match="upcaster"):
        events.parse(old)
