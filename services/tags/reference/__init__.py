"""Reference data of the tags service (legal walls, default crew)."""
from pathlib import Path

from shared.reference import load_yaml

HERE = Path(__file__).resolve().parent


def legal_walls_reference() -> list[dict]:
    return load_yaml(HERE / "legal_walls.yaml")
