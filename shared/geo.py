"""Places: distances, search boxes, a normalised street key (shared by duplicate hints, graffiti
sites, legal walls and recurrence) and the antenna's neighbourhoods (point in polygon)."""
import math
import re
import unicodedata
from functools import cache

from shapely.geometry import Point, shape
from shapely.prepared import PreparedGeometry, prep

from shared.reference import neighbourhood_features


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in metres."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def degree_box(lat: float, metres: float) -> tuple[float, float]:
    """Half-sizes in degrees (lat, lon) of a box that contains every point within `metres`."""
    dlat = metres / 111_000.0 * 1.01
    dlon = metres / (111_000.0 * max(math.cos(math.radians(lat)), 0.01)) * 1.01
    return dlat, dlon


_HOUSE_NUMBER = re.compile(r"\b\d+[a-z]?(\s*(bte|bus|boite|box)\s*\w+)?\b")
_POSTCODE_TAIL = re.compile(r",.*$")


def street_key(address: str | None) -> str | None:
    """'Rue de la Tulipe 12, 1050 Ixelles' and 'rue de la tulipe 3' give the same key."""
    if not address:
        return None
    text = unicodedata.normalize("NFKD", address).encode("ascii", "ignore").decode().lower()
    text = _POSTCODE_TAIL.sub("", text)
    text = _HOUSE_NUMBER.sub(" ", text)
    text = re.sub(r"[^a-z ]+", " ", text)
    key = " ".join(text.split())
    return key or None


_FIRST_NUMBER = re.compile(r"\b(\d+)\s*([a-z]?)\b")


def address_key(address: str | None) -> str | None:
    """Street and house number: 'Rue Malibran 40, 1050 Ixelles' -> 'rue malibran 40'. Names one
    building (a graffiti site); None without a house number."""
    street = street_key(address)
    if not street or not address:
        return None
    head = unicodedata.normalize("NFKD", address).encode("ascii", "ignore").decode().lower()
    match = _FIRST_NUMBER.search(_POSTCODE_TAIL.sub("", head))
    return f"{street} {match.group(1)}{match.group(2)}" if match else None


# -- neighbourhoods: reference polygons (shared/reference/neighbourhoods.geojson) ----------------

@cache
def _neighbourhoods() -> tuple[tuple[str, PreparedGeometry], ...]:
    return tuple((feature["properties"]["name"], prep(shape(feature["geometry"])))
                 for feature in neighbourhood_features())


def neighbourhood_at(lat: float | None, lon: float | None) -> str | None:
    """The neighbourhood whose polygon holds the point, if any."""
    if lat is None or lon is None:
        return None
    point = Point(lon, lat)  # GeoJSON order: longitude first
    return next((name for name, polygon in _neighbourhoods() if polygon.covers(point)), None)


def _folded(name: str) -> str:
    return " ".join(name.split()).casefold()


def neighbourhood_named(name: str | None) -> str | None:
    """The known neighbourhood `name` means, in its own spelling ('  flagey' -> 'Flagey'), or
    None when it names none."""
    if not name:
        return None
    return next((known for known, _ in _neighbourhoods() if _folded(known) == _folded(name)),
                None)


def neighbourhood_of(lat: float | None, lon: float | None, given: str | None) -> str | None:
    """Where a place belongs: the polygon its coordinates fall in; without coordinates (or
    outside every polygon), the name given, spelled as the known neighbourhood it names."""
    found = neighbourhood_at(lat, lon)
    if found:
        return found
    return neighbourhood_named(given) or (" ".join(given.split()) if given else None)
