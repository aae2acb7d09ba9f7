"""The antenna's neighbourhoods as reference polygons: every demo street lies in the
neighbourhood the demo names, wherever the demo scatters its reports along it."""
import itertools

import pytest

from services.incidents.demo import STREETS
from shared.geo import neighbourhood_at, neighbourhood_named, neighbourhood_of

DEMO_SCATTER = 0.0006  # lisa.demo moves each report up to this many degrees from its street


@pytest.mark.parametrize("street, neighbourhood, lat, lon", STREETS,
                         ids=[street for street, *_ in STREETS])
def test_every_demo_street_is_in_its_neighbourhood(street, neighbourhood, lat, lon):
    for dlat, dlon in itertools.product((-DEMO_SCATTER, 0, DEMO_SCATTER), repeat=2):
        assert neighbourhood_at(lat + dlat, lon + dlon) == neighbourhood


@pytest.mark.parametrize("lat, lon", [(50.8466, 4.3528), (None, None), (50.8338, None)])
def test_outside_every_polygon_or_without_coordinates_there_is_none(lat, lon):
    assert neighbourhood_at(lat, lon) is None


@pytest.mark.parametrize("given, known", [("Fernand Cocq", "Fernand Cocq"),
                                          ("  fernand   COCQ ", "Fernand Cocq"),
                                          ("Châtelain", None), ("", None), (None, None)])
def test_a_name_is_matched_whatever_its_case_and_spaces(given, known):
    assert neighbourhood_named(given) == known


@pytest.mark.parametrize("lat, lon, given, found", [
    (50.8300, 4.3735, "Matonge", "Flagey"),      # the coordinates decide
    (None, None, "matonge", "Matonge"),          # a known name, spelled as known
    (None, None, " Châtelain ", "Châtelain"),    # another name, kept (trimmed)
    (50.8466, 4.3528, None, None),               # outside the antenna, no name
])
def test_where_a_place_belongs(lat, lon, given, found):
    assert neighbourhood_of(lat, lon, given) == found
