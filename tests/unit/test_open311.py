"""The pure rules of Open311 GeoReport v2 over the incidents (services/incidents/open311.py) and
its XML writer: a POST read into a report, a search read into filters, an incident shown as a
service request."""
import re
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime, timedelta

import pytest

from services.incidents import domain, open311
from services.incidents.open311_routes import error_answer, to_xml
from services.incidents.reference import categories_reference
from shared.errors import BadRequest, ValidationFailed

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
FORM = {"service_code": "graffiti_private", "lat": "50.83", "long": "4.37",
        "attribute[surface]": "render", "attribute[offensive]": "no",
        "attribute[contact_consent]": "yes", "email": "a@example.org", "first_name": "Ann",
        "last_name": "Peeters", "phone": "+32 2 511 00 00", "device_id": "phone-123",
        "account_id": "acc-9"}


def test_the_catalogue_is_public_space_categories_that_exist():
    leaves = {child["code"]: child for parent in categories_reference()
              for child in parent["children"]}
    for code in open311.service_codes():
        assert leaves[code]["zone"] == "public_space"
    assert "burglary" not in open311.service_codes()
    assert "intra_family_violence" not in open311.service_codes()
    assert open311.catalogue()["offensive_category"] in leaves


def test_a_post_becomes_an_open311_report_with_consented_contact():
    report = open311.report_from_form(FORM)
    payload = report.payload
    assert payload["channel"] == "open311" and payload["category"] == "graffiti_private"
    assert payload["location"] == {"address": "50.830000, 4.370000", "lat": 50.83,
                                   "lon": 4.37}
    assert payload["reporter"] == {"name": "Ann Peeters", "email": "a@example.org",
                                   "phone": "+32 2 511 00 00", "may_contact": True,
                                   "share_with_police": False}
    assert payload["description"] == "[Open311] surface: render; offensive: no"
    assert "phone-123" not in str(payload) and "acc-9" not in str(payload)
    assert report.answers == {"surface": "render", "offensive": "no", "contact_consent": "yes"}


def test_without_consent_no_contact_is_kept():
    for consent in ({"attribute[contact_consent]": "no"}, {"attribute[contact_consent]": ""}):
        assert open311.report_from_form({**FORM, **consent}).payload["reporter"] is None


def test_offensive_graffiti_is_the_offensive_category_and_media_is_kept_for_staff():
    report = open311.report_from_form({**FORM, "attribute[offensive]": "yes",
                                       "attribute[area_m2]": "2.5",
                                       "media_url": "https://example.org/p.jpg",
                                       "description": "Croix gammée"})
    assert report.payload["category"] == "graffiti_offensive"
    assert report.requested_code == "graffiti_private"
    assert report.payload["description"] == (
        "Croix gammée\n\n[Open311] surface: render; offensive: yes; area_m2: 2.5; "
        "media_url: https://example.org/p.jpg")


@pytest.mark.parametrize("change, words", [
    ({"service_code": None}, "service_code is required"),
    ({"service_code": "burglary"}, "service_code not found"),
    ({"lat": None, "long": None}, "location is required"),
    ({"long": None}, "both lat and long"),
    ({"lat": "nan"}, "not a number"),
    ({"lat": "1e999"}, "not a number"),
    ({"attribute[surface]": "gold"}, "one of"),
    ({"attribute[offensive]": None}, "required"),
    ({"attribute[area_m2]": "0"}, "between"),
    ({"attribute[area_m2]": "big"}, "not a number"),
    ({"attribute[area_m2]": ["1", "2"]}, "one value"),
    ({"attribute[nope]": "1"}, "not asked"),
    ({"attributes": "x"}, "attribute[code]"),
    ({"email": ["a@b.be", "c@d.be"]}, "once"),
    ({"media_url": "ftp://example.org/x"}, "media_url"),
])
def test_bad_posts_name_the_problem(change, words):
    form = {key: value for key, value in {**FORM, **change}.items() if value is not None}
    with pytest.raises(BadRequest, match=re.escape(words)):
        open311.report_from_form(form)


def test_search_defaults_to_the_last_90_days():
    query = open311.request_query({}, NOW)
    assert (query.start, query.end) == (NOW - timedelta(days=90), NOW)
    only_start = open311.request_query({"start_date": "2026-10-01"}, NOW)
    assert only_start.start == datetime(2026, 10, 1, tzinfo=domain.BRUSSELS)
    assert only_start.end - only_start.start == timedelta(days=90)
    only_end = open311.request_query({"end_date": "2026-10-01T12:00:00Z"}, NOW)
    assert only_end.end == datetime(2026, 10, 1, 12, tzinfo=UTC)
    assert only_end.end - only_end.start == timedelta(days=90)


def test_search_lists_are_comma_delimited_and_checked():
    query = open311.request_query({"service_request_id": "LISA-2026-000001, LISA-2026-000002",
                                   "service_code": "litter,road_defect",
                                   "status": "open"}, NOW)
    assert query.ids == ("LISA-2026-000001", "LISA-2026-000002")
    assert query.codes == ("litter", "road_defect") and query.statuses == ("open",)
    assert open311.incident_statuses(["open"]) == domain.OPEN_STATUSES
    assert open311.incident_statuses(["closed"]) == open311.DONE_STATUSES
    assert open311.incident_statuses(["open", "closed"]) is None
    with pytest.raises(BadRequest, match="At most 100"):
        open311.request_query({"service_request_id": ",".join(str(n) for n in range(101))},
                              NOW)
    with pytest.raises(BadRequest, match="90 days"):
        open311.request_query({"start_date": "2026-01-01", "end_date": "2026-04-02"}, NOW)


@pytest.mark.parametrize("args", [{"start_date": "0001-01-01"}, {"end_date": "0001-01-01"},
                                  {"start_date": "9999-12-31T23:59:59-12:00"},
                                  {"end_date": "9999-12-31"}, {"start_date": "2026-02-30"},
                                  {"start_date": "2026-11-23T25:00"}])
def test_dates_out_of_range_are_refused_not_overflowed(args):
    with pytest.raises(BadRequest, match="_date"):
        open311.request_query(args, NOW)


def test_a_span_across_the_clock_change_is_measured_in_real_time():
    """Brussels leaves summer time on 25 October 2026: 90 calendar days from 1 October are
    90 days and one hour."""
    with pytest.raises(BadRequest, match="90 days"):
        open311.request_query({"start_date": "2026-10-01", "end_date": "2026-12-30"}, NOW)
    query = open311.request_query({"start_date": "2026-10-01"}, NOW)
    assert query.end - query.start == timedelta(days=90)


def test_an_incident_as_a_service_request():
    record = open311.request_record({
        "ticket": "LISA-2026-000042", "status": domain.RESOLVED, "category_code": "litter",
        "partner": "public_cleanliness", "reported_at": NOW, "updated_at": NOW,
        "sla_due_at": NOW + timedelta(days=7), "address": "Rue Malibran 5, 1050 Ixelles",
        "lat": 50.83, "lon": 4.37}, "Litter", "en")
    assert record["status"] == "closed" and record["status_notes"] == "Resolved"
    assert record["requested_datetime"] == "2026-11-23T16:00:00+01:00"
    assert record["expected_datetime"] == "2026-11-30T16:00:00+01:00"
    assert record["zipcode"] == "1050" and record["long"] == 4.37
    assert record["description"] is None
    for status in domain.STATUSES:
        assert open311.open311_status(status) == ("closed" if status in (
            domain.RESOLVED, domain.CLOSED, domain.CANCELLED, domain.DUPLICATE) else "open")
        assert set(open311.STATUS_NOTES[status]) == set(open311.LANGUAGES)


def test_xml_uses_the_specification_element_names():
    root = ElementTree.fromstring(to_xml("services", [
        {"service_code": "litter", "metadata": True, "keywords": None}]))
    service = root.find("service")
    assert (service.findtext("service_code"), service.findtext("metadata"),
            service.findtext("keywords")) == ("litter", "true", "")
    definition = ElementTree.fromstring(to_xml("service_definition", open311.service_definition(
        "graffiti_public", "nl")))
    values = definition.find("attributes/attribute/values")
    assert [value.findtext("key") for value in values.findall("value")][:2] == ["brick",
                                                                                 "stone"]


def test_xml_stays_readable_whatever_a_value_holds():
    root = ElementTree.fromstring(to_xml("errors", [
        {"code": 400, "description": "status not found: \x01\x1b[31m<b>&amp;"}]))
    assert root.findtext("error/description") == "status not found: \ufffd\ufffd[31m<b>&amp;"


def test_errors_are_the_specification_list_with_its_statuses():
    response = error_answer("json", ValidationFailed("The request has invalid fields.", {
        "location": {"lat": ["Latitude is outside Belgium."]}}))
    assert response.status_code == 400
    assert response.json == [{"code": 400, "description": "The request has invalid fields. "
                                                          "location.lat: Latitude is outside "
                                                          "Belgium."}]
    root = ElementTree.fromstring(error_answer("xml", BadRequest("service_code is required."))
                                  .get_data())
    assert root.tag == "errors" and root.findtext("error/code") == "400"
