"""Reference data of the referrals service (the partners directory)."""
from pathlib import Path

from shared.reference import load_yaml

HERE = Path(__file__).resolve().parent


def directory_reference() -> list[dict]:
    return load_yaml(HERE / "directory.yaml")
