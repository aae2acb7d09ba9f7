"""Declarative state tables: one place that validates a table and checks a move against it.

Each domain keeps its own table (status -> allowed next statuses) and its own error type."""


def validate(transitions: dict[str, frozenset[str]], statuses) -> None:
    """Every status has a row, and every target is a known status (checked at import)."""
    if set(transitions) != set(statuses):
        raise ValueError(f"Rows {sorted(transitions)} do not match statuses {sorted(statuses)}.")
    unknown = set().union(*transitions.values()) - set(statuses)
    if unknown:
        raise ValueError(f"Unknown target statuses: {sorted(unknown)}.")


def check(transitions: dict[str, frozenset[str]], current: str, target: str,
          error: type[Exception]) -> None:
    if target not in transitions.get(current, ()):
        allowed = ", ".join(sorted(transitions.get(current, ()))) or "none"
        raise error(f"Cannot go from '{current}' to '{target}' (allowed: {allowed}).")
