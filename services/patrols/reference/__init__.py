"""Reference data of the patrols service: the school calendars (school holidays)."""
from datetime import date
from pathlib import Path

from shared.reference import load_yaml

HERE = Path(__file__).resolve().parent
AUTHORITIES = ("fwb", "vl")


def school_holidays(authority: str) -> list[tuple[str, date, date]]:
    """(name, first day, last day) of each school holiday of `authority` (fwb or vl)."""
    if authority not in AUTHORITIES:
        raise ValueError(f"unknown school authority {authority!r} (one of {AUTHORITIES})")
    return [(row["name"], row["start"], row["end"])
            for row in load_yaml(HERE / "school_calendar.yaml")[authority]]
