"""The indicator catalogue's validation and the pure rules of the indicators: periods, filters,
each measure kind's figure, suppression and target status."""
import copy
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from services.indicators import catalogue, domain
from services.indicators.catalogue import CATALOGUE_DIR, CatalogueError

PHENOMENA = catalogue.phenomena()
ENTRY = {"code": "X-ONE", "name": {"fr": "a", "nl": "b", "en": "c"},
         "definition": {"fr": "a", "nl": "b", "en": "c"}, "unit": "count", "period": "month",
         "phenomenon": None, "objective": "OS1", "target": None, "suppress_below": 5,
         "dimensions": ["neighbourhood"],
         "measure": {"kind": "count", "event": "incidents.incident_reported"}}


def parse(*entries, version=1):
    return catalogue.parse({"x.yaml": {"version": version, "indicators": list(entries)}},
                           PHENOMENA)


def entry(**changes):
    changed = copy.deepcopy(ENTRY)
    changed.update(changes)
    return changed


def test_the_shipped_catalogue_is_valid_and_has_the_issues_starting_indicators():
    loaded = catalogue.load()
    assert {"INC-REPORTED", "INC-DESK-REQUESTS", "INC-RESOLUTION-MEDIAN", "INC-WITHIN-SLA",
            "PATROL-HOURS", "WARDEN-SIGNALS", "REF-SENT", "REF-SUCCESS-RATE", "TAG-M2-REMOVED",
            "TAG-REMOVAL-MEDIAN", "TAG-WITHIN-SLA", "TAG-RETAGGED-SITES"} <= set(loaded.codes())
    assert {i.kind for i in loaded.indicators} == set(catalogue.KINDS)
    with open(CATALOGUE_DIR / "core.yaml", encoding="utf-8") as f:
        assert yaml.safe_load(f)["version"] >= 1
    assert [leaf.name for leaf in loaded.get("REF-SUCCESS-RATE").leaves()] == \
        ["REF-SUCCESS-RATE#num", "REF-SUCCESS-RATE#den"]
    assert {leaf.name for leaf in loaded.leaves_for("tags", "job_completed")} == \
        {"TAG-M2-REMOVED", "TAG-REMOVAL-MEDIAN", "TAG-WITHIN-SLA"}


@pytest.mark.parametrize(("bad", "says"), [
    (entry(code="lower-case"), "code"),
    (entry(unit="furlongs"), "unit"),
    (entry(period="week"), "period"),
    (entry(phenomenon="alien_abduction"), "unknown PSSP phenomenon"),
    (entry(dimensions=["antenna"]), "dimensions"),
    (entry(dimensions=["a", "b", "c", "d", "e", "f", "g"]), "dimensions"),
    (entry(dimensions=["a", "a"]), "twice"),
    (entry(colour="red"), "colour"),
    (entry(measure={"kind": "sum", "event": "tags.job_completed"}), "field"),
    (entry(measure={"kind": "count", "event": "nodot"}), "event"),
    (entry(measure={"kind": "count", "event": "a.b", "field": "x"}), "Not used"),
    (entry(measure={"kind": "telepathy", "event": "a.b"}), "kind"),
    (entry(unit="percent", measure={"kind": "ratio", "numerator": {"kind": "count",
                                                                   "event": "a.b"}}),
     "denominator"),
    (entry(unit="percent", measure={"kind": "ratio",
                                    "numerator": {"kind": "median_duration"},
                                    "denominator": {"kind": "count", "event": "a.b"}}),
     "numerator"),
    (entry(unit="count", measure={"kind": "ratio", "numerator": {"kind": "count",
                                                                 "event": "a.b"},
                                  "denominator": {"kind": "count", "event": "a.b"}}), "unit"),
    (entry(unit="percent", measure={"kind": "share_within", "start": {"event": "a.b"},
                                    "end": {"event": "a.c"}, "key": "id"}), "within"),
    (entry(unit="count", measure={"kind": "median_duration", "start": {"event": "a.b"},
                                  "end": {"event": "a.c"}, "key": "id"}), "unit"),
    (entry(target="high"), "target"),
])
def test_a_bad_entry_is_refused_naming_the_problem(bad, says):
    with pytest.raises(CatalogueError, match=says):
        parse(bad)


def test_codes_are_unique_across_files():
    document = {"version": 1, "indicators": [ENTRY]}
    with pytest.raises(CatalogueError, match="also defined in"):
        catalogue.parse({"a.yaml": document, "b.yaml": document}, PHENOMENA)
    with pytest.raises(CatalogueError, match="version"):
        catalogue.parse({"a.yaml": {"indicators": [ENTRY]}}, PHENOMENA)


def test_every_measure_kind_parses_into_its_leaves():
    found = parse(
        entry(code="XC"), entry(code="XS", unit="m2", measure={
            "kind": "sum", "event": "tags.job_completed", "field": "removed_m2"}),
        entry(code="XD", measure={"kind": "distinct", "event": "tags.job_created",
                                 "field": "site_id", "where": {"recurrence": True}}),
        entry(code="XM", unit="days", measure={
            "kind": "median_duration", "start": {"event": "a.start"},
            "end": {"event": "a.end", "where": {"final": "ok"}}, "key": "id"}),
        entry(code="XW", unit="percent", measure={
            "kind": "share_within", "start": {"event": "a.start"}, "end": {"event": "a.end"},
            "key": "id", "within": {"hours": 48}}))
    kinds = {i.code: [(leaf.kind, leaf.event, leaf.where) for leaf in i.leaves()]
             for i in found.indicators}
    assert kinds["XD"] == [("distinct", ("tags", "job_created"), (("recurrence", True),))]
    assert found.get("XW").within_hours() == 48
    span = found.get("XM").leaves()[0]
    assert (span.kind, span.start, span.end, span.end_where, span.key) == \
        ("span", ("a", "start"), ("a", "end"), (("final", "ok"),), "id")


# -- periods ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("period", "bounds"), [
    ("2026", ("2026-01", "2026-12")), ("2026-Q2", ("2026-04", "2026-06")),
    ("2026-03", ("2026-03", "2026-03")), (" 2026-Q4 ", ("2026-10", "2026-12"))])
def test_periods(period, bounds):
    assert domain.period_bounds(period) == bounds


@pytest.mark.parametrize("bad", ["26", "2026-13", "2026-Q5", "2026-00", "20x6", "", "2026-3",
                                 "0999", None, 2026])
def test_malformed_periods(bad):
    with pytest.raises(domain.BadPeriod):
        domain.period_bounds(bad)


def test_a_range_of_more_than_ten_years_or_backwards_is_refused():
    assert domain.period_range("2017", "2026").months() == 120
    with pytest.raises(domain.BadPeriod, match="at most 120"):
        domain.period_range("2016-12", "2026")
    with pytest.raises(domain.BadPeriod, match="before it starts"):
        domain.period_range("2026", "2025")


def test_buckets_months_and_communes():
    assert [domain.bucket("2026-05", g) for g in domain.GRAINS] == ["2026-05", "2026-Q2", "2026"]
    # 23:30 UTC on 31 March is 1 April in Brussels
    assert domain.month_of(datetime(2026, 3, 31, 23, 30, tzinfo=UTC)) == "2026-04"
    assert domain.commune_of("ixelles-tulipe") == "ixelles"


def test_where_filters_do_not_take_one_for_true():
    assert domain.matches((("successful", True),), {"successful": True})
    assert not domain.matches((("successful", True),), {"successful": 1})
    assert not domain.matches((("n", 1),), {"n": True})
    assert domain.matches((("channel", "desk"),), {"channel": "desk", "x": 1})
    assert not domain.matches((("channel", "desk"),), {})
    assert domain.dimension_values(["a", "b"], {"a": "x", "b": None}) == \
        ("x", "", "", "", "", "")


# -- figures ------------------------------------------------------------------------------------

T = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_each_kinds_figure():
    assert domain.value_of("count", "count", domain.Tally(count=7)) == (7, 7.0)
    assert domain.value_of("sum", "m2", domain.Tally(count=2, total=3.25)) == (2, 3.25)
    assert domain.value_of("distinct", "count", domain.Tally(values={"1", "2"})) == (2, 2.0)
    assert domain.value_of("median_duration", "days",
                           domain.Tally(durations=[24, 48, 240])) == (3, 2.0)
    assert domain.value_of("median_duration", "hours",
                           domain.Tally(durations=[1, 2, 3, 4])) == (4, 2.5)
    assert domain.value_of("median_duration", "days", domain.Tally(durations=[])) == (0, None)
    assert domain.value_of("share_within", "percent",
                           domain.Tally(within=3, with_deadline=4)) == (4, 75.0)
    ratio = domain.Tally(count=8, numerator=domain.Tally(count=5))
    assert domain.value_of("ratio", "percent", ratio) == (8, 62.5)
    assert domain.value_of("ratio", "percent", domain.Tally()) == (0, None)


def test_a_span_is_measured_from_its_start_to_its_end():
    due = T + timedelta(days=5)
    assert domain.span_figures(T, T + timedelta(hours=30), due, None) == (30.0, True)
    assert domain.span_figures(T, T + timedelta(days=6), due, None) == (144.0, False)
    assert domain.span_figures(T, T + timedelta(hours=30), None, None) == (30.0, None)
    assert domain.span_figures(T, T + timedelta(hours=30), None, 24) == (30.0, False)
    assert domain.span_figures(None, T, due, None) == (None, True)   # no start seen
    assert domain.span_figures(T, None, due, None) == (None, None)   # not ended


def test_small_counts_are_suppressed_and_none_is_not():
    assert domain.published(3, 3.0, 5) == {"n": "<5", "value": None, "suppressed": True}
    assert domain.published(5, 5.0, 5) == {"n": 5, "value": 5.0, "suppressed": False}
    assert domain.published(0, None, 5) == {"n": 0, "value": None, "suppressed": False}
    assert domain.published(1, 2.5, 0) == {"n": 1, "value": 2.5, "suppressed": False}


def test_target_status():
    assert domain.status_against(80, 85, "share_within") == "met"
    assert domain.status_against(80, 79.9, "share_within") == "not_met"
    assert domain.status_against(3, 2.5, "median_duration") == "met"
    assert domain.status_against(3, 4, "median_duration") == "not_met"
    assert domain.status_against(None, 4, "count") is None
    assert domain.status_against(4, None, "count") is None


def test_a_where_value_must_be_a_scalar():
    """marshmallow 4 ignores a validator that returns False: the scalar check must raise."""
    import pytest
    from marshmallow import ValidationError

    from services.indicators.catalogue import Scalar
    with pytest.raises(ValidationError):
        Scalar.deserialize({"nested": "object"})
    assert Scalar.deserialize("graffiti") == "graffiti"
