"""Value types every service shares live in shared/, decided in one place: the place a request
names (one location schema for an incident and a graffiti site) and the antenna an identity
acts for."""
import pytest
from marshmallow import ValidationError

from services.incidents import schemas as incident_schemas
from services.tags import schemas as tag_schemas
from shared.errors import Forbidden
from shared.identity import Identity
from shared.location import LocationSchema


def test_an_incident_and_a_graffiti_site_take_the_one_location_schema():
    assert incident_schemas.ReportIncidentSchema().fields["location"].nested is LocationSchema
    assert incident_schemas.DuplicateHintsQuerySchema().fields["location"].nested \
        is LocationSchema
    assert tag_schemas.CreateJobSchema().fields["site"].nested is LocationSchema


@pytest.mark.parametrize("location, field", [
    ({"address": "Rue de la Tulipe 12", "lat": 50.83}, "lat"),        # one coordinate alone
    ({"address": "Rue de la Tulipe 12", "lat": 48.85, "lon": 2.35}, "lat"),   # Paris
    ({"address": "Rue de la Tulipe 12", "lat": 50.83, "lon": 7.0}, "lon"),
    ({"address": "Rue"[:2]}, "address"),
])
def test_a_location_outside_belgium_or_half_given_is_refused(location, field):
    with pytest.raises(ValidationError) as refused:
        LocationSchema().load(location)
    assert field in refused.value.messages


def test_an_identity_acts_for_its_first_antenna_and_one_without_any_for_none():
    both = Identity("desk", "desk", "antenna_desk", ("ixelles-tulipe", "saint-gilles"))
    assert both.acting_antenna() == "ixelles-tulipe"
    with pytest.raises(Forbidden):
        Identity("desk", "desk", "antenna_desk", ()).acting_antenna()
