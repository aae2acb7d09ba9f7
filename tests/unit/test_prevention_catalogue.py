"""The prevention indicators (services/indicators/reference/catalogue/prevention.yaml) against
the events that feed them: every measure names an event the prevention service publishes, every
field, filter and dimension is a field of that event's payload schema (so the figures can be
computed), filters hold values the schema accepts, and no dimension is a key or free text. The
figures themselves are checked on a month of activity in tests/service/test_prevention_month.py.
"""
import re
from pathlib import Path

import pytest
import yaml
from marshmallow import fields

from services.prevention import events

CATALOGUE = Path(__file__).parents[2] / "services" / "indicators" / "reference" / \
    "catalogue" / "prevention.yaml"
DOCUMENT = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
ENTRIES = DOCUMENT["indicators"]
CONTRACT_KEYS = {"code", "name", "definition", "unit", "period", "phenomenon", "objective",
                 "target", "suppress_below", "dimensions", "measure"}
PHENOMENA = Path(__file__).parents[2] / "services" / "incidents" / "reference" / \
    "pssp_phenomena.yaml"


def leaves(measure):
    if measure["kind"] == "ratio":
        return [measure["numerator"], measure["denominator"]]
    return [measure]


def schema_of(leaf):
    source, event_type = leaf["event"].split(".")
    assert source == "prevention", leaf["event"]
    return events.PUBLISHES[event_type][1]()


def test_the_file_keeps_the_contract():
    assert DOCUMENT["version"] >= 1
    codes = [entry["code"] for entry in ENTRIES]
    assert len(codes) == len(set(codes))
    phenomena = {p["code"] for p in yaml.safe_load(PHENOMENA.read_text())["phenomena"]}
    for entry in ENTRIES:
        assert set(entry) == CONTRACT_KEYS, entry["code"]
        assert re.fullmatch(r"[A-Z0-9-]+", entry["code"]) and entry["code"].startswith("PREV-")
        assert set(entry["name"]) == set(entry["definition"]) == {"fr", "nl", "en"}
        assert entry["unit"] in ("count", "hours", "m2", "percent", "days")
        assert entry["period"] in ("month", "quarter", "year")
        assert entry["phenomenon"] is None or entry["phenomenon"] in phenomena
        assert (entry["unit"] == "percent") is (entry["measure"]["kind"] == "ratio")
        assert len(entry["dimensions"]) <= 6


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["code"] for e in ENTRIES])
def test_every_measure_is_computable_from_its_events(entry):
    for leaf in leaves(entry["measure"]):
        assert leaf["kind"] in ("count", "sum", "distinct")
        schema = schema_of(leaf)
        if leaf["kind"] in ("sum", "distinct"):
            assert leaf["field"] in schema.fields
        if leaf["kind"] == "sum":
            assert isinstance(schema.fields[leaf["field"]], fields.Integer)
        for name, wanted in (leaf.get("where") or {}).items():
            assert name in schema.fields, name
            schema.fields[name].deserialize(wanted)   # a value the event can carry
        for dimension in entry["dimensions"]:
            field = schema.fields.get(dimension)
            assert field is not None, f"{entry['code']}: no {dimension} in {leaf['event']}"
            assert not isinstance(field, fields.List)   # a dimension is one value


def test_every_figure_of_issue_11_and_every_event_has_an_indicator():
    fed = {leaf["event"].split(".")[1] for entry in ENTRIES for leaf in leaves(entry["measure"])}
    assert fed == set(events.PUBLISHES)
    codes = {entry["code"] for entry in ENTRIES}
    assert {"PREV-SW-CONTACTS", "PREV-SW-NEW-PEOPLE", "PREV-SW-TRUST", "PREV-SW-REFERRALS-OK",
            "PREV-SW-FOLLOWUPS", "PREV-SW-STRUCTURING", "PREV-POLICY-NOTES",
            "PREV-CONCERTATIONS", "PREV-MEDIATION-AGREEMENT", "PREV-TECHNO-VISITS"} <= codes
    notes = next(e for e in ENTRIES if e["code"] == "PREV-POLICY-NOTES")
    assert notes["target"] == 1 and notes["period"] == "year"   # at least one a year


def test_people_counts_are_suppressed_and_no_dimension_identifies_anyone():
    for entry in ENTRIES:
        assert not {"client_key", "party_keys", "notes", "summary", "address",
                    "contact", "report", "decisions", "body", "title"} & set(entry["dimensions"])
        if entry["code"].startswith(("PREV-SW-", "PREV-MEDIATION", "PREV-TECHNO")) and \
                entry["code"] != "PREV-SW-WORKERS":
            assert entry["suppress_below"] >= 5, entry["code"]


def test_the_schemas_refuse_a_key_or_a_text_on_the_bus():
    from marshmallow import ValidationError

    good = {"organisation": "street_work", "neighbourhood": "Tulipe", "themes": ["housing"]}
    events.AccompanimentFacts().load(good)
    for extra in ({"client_key": "AC-ABCD-EFGH"}, {"notes": "dort chez un cousin"}):
        with pytest.raises(ValidationError):
            events.AccompanimentFacts().load({**good, **extra})
    for wrong in ({"neighbourhood": "Rue Keyenveld 40"}, {"themes": ["Yanis, 17 ans"]},
                  {"organisation": "M. Peeters"}):
        with pytest.raises(ValidationError):
            events.AccompanimentFacts().load({**good, **wrong})
    with pytest.raises(ValidationError):
        events.ConcertationHeld().load({"organisation": "street_work", "kind": "network",
                                        "phenomenon": "Mme K. et ses enfants",
                                        "organisations": ["street_work"], "members": 1})
