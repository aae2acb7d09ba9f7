"""Places: distances, search boxes and a normalised street key (shared by duplicate hints,
graffiti sites, legal walls and recurrence)."""
import math
import re
import unicodedata


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
    if not street:
        return None
    head = unicodedata.normalize("NFKD", address).encode("ascii", "ignore").decode().lower()
    match = _FIRST_NUMBER.search(_POSTCODE_TAIL.sub("", head))
    return f"{street} {match.group(1)}{match.group(2)}" if match else None
