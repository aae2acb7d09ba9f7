"""Versioned reference data of the incidents service (categories, PSSP phenomena)."""
from pathlib import Path

from shared.reference import load_yaml

HERE = Path(__file__).resolve().parent


def categories_reference() -> list[dict]:
    return load_yaml(HERE / "categories.yaml")


def phenomena_reference() -> dict:
    return load_yaml(HERE / "pssp_phenomena.yaml")
