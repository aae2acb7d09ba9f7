"""Filters the services' lists share (SQLAlchemy expressions; the rules behind them are pure,
in shared/geo.py)."""
from typing import Any

from sqlalchemy import func

from shared.geo import neighbourhood_named


def neighbourhood_is(column: Any, name: str) -> Any:
    """A neighbourhood filter that ignores case and spaces: a known neighbourhood by its own
    spelling (the one stored), any other name case-insensitively."""
    known = neighbourhood_named(name)
    return column == known if known else func.lower(column) == " ".join(name.split()).lower()
