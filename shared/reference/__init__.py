"""Reference data shipped with the code and seeded into the services' tables."""
import json
from functools import cache
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


@cache
def partners() -> list[dict]:
    return yaml.safe_load((HERE / "partners.yaml").read_text(encoding="utf-8"))


def partner_codes() -> frozenset[str]:
    return frozenset(p["code"] for p in partners())


@cache
def neighbourhood_features() -> list[dict]:
    """The antenna's neighbourhoods as GeoJSON polygons. Approximate: cells drawn around the demo
    antenna's streets (Ixelles: Tulipe, Matonge, Fernand Cocq, Flagey), not official
    boundaries; an antenna ships its own."""
    document = json.loads((HERE / "neighbourhoods.geojson").read_text(encoding="utf-8"))
    return document["features"]


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))
