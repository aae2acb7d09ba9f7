"""Reference data shipped with the code and seeded into the services' tables."""
from functools import cache
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


@cache
def partners() -> list[dict]:
    return yaml.safe_load((HERE / "partners.yaml").read_text(encoding="utf-8"))


def partner_codes() -> frozenset[str]:
    return frozenset(p["code"] for p in partners())


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))
