"""Who may do what with posts, demand, wardens, rosters, swaps and patrol logs (DESIGN.md
section 5: wardens read their own schedule and write their own logs; the warden coordinator
plans; the prevention coordinator and the auditor read). Pure."""
WARDEN, PLANNER, COORDINATOR, AUDITOR, ADMIN = \
    "warden", "warden_coordinator", "coordinator", "auditor", "admin"
SERVICE = "service"

PLANNERS = frozenset({PLANNER, ADMIN})
READERS = frozenset({PLANNER, COORDINATOR, AUDITOR, ADMIN})


def may_plan(role: str) -> bool:
    """Posts, demand, wardens, leave, solve, publish, re-plan, approve swaps, the team feed."""
    return role in PLANNERS


def may_read_plans(role: str) -> bool:
    """Posts, demand, the team, rosters with their gaps and scores, every log."""
    return role in READERS


def may_read_leave(role: str) -> bool:
    """A warden's leave days (personal data: each read logged)."""
    return role in PLANNERS


def is_warden(role: str) -> bool:
    """Reads their own schedule, writes their own logs, offers and accepts swaps."""
    return role == WARDEN


def may_read_schedule_of(role: str, own: bool) -> bool:
    return role in READERS or (role == WARDEN and own)


def may_check_observation_facts(role: str) -> bool:
    """Another service (incidents) checking what an observation event claims."""
    return role == SERVICE
