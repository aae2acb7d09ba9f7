"""Who may read indicators, change targets and see the events set aside (DESIGN.md section 5,
issue 10). Pure; deny by default."""
COORDINATOR, AUDITOR, ADMIN = "coordinator", "auditor", "admin"

READERS = frozenset({COORDINATOR, AUDITOR, ADMIN})


def may_read(role: str) -> bool:
    """Series, targets, comparisons, the dashboard and the exports."""
    return role in READERS


def may_set_target(role: str) -> bool:
    """The current plan's targets are the coordinator's to set."""
    return role == COORDINATOR


def may_read_operations(role: str) -> bool:
    """Events set aside (unknown type or version) and the store's counts: operations."""
    return role in (ADMIN, AUDITOR)


def may_rebuild(role: str) -> bool:
    return role == ADMIN
