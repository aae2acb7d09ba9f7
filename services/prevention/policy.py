"""Who may see and do what in the prevention activity log (issue 11, DESIGN.md section 5, ADR
27). Pure: roles and organisations in, yes or no out; the use cases and views ask here and
nowhere else. Deny by default: police, wardens, the desk and the tags crew read none of it (the
desk may only book a technoprevention visit for a citizen at its counter)."""
DESK, STREET_WORKER, MEDIATOR = "desk", "street_worker", "mediator"
TECHNO_ADVISER, COORDINATOR, AUDITOR = "techno_adviser", "coordinator", "auditor"

# Who works each kind of record, for their own organisation only.
STREET_WORK_ROLES = frozenset({STREET_WORKER})
MEDIATION_ROLES = frozenset({MEDIATOR})
TECHNO_ROLES = frozenset({TECHNO_ADVISER})
# Who sits in concertations and writes policy notes (for their organisation).
PREVENTION_ROLES = STREET_WORK_ROLES | MEDIATION_ROLES | TECHNO_ROLES | {COORDINATOR}


def own(organisation: str, record_organisation: str) -> bool:
    return organisation == record_organisation


# -- street work ------------------------------------------------------------------------------

def may_do_street_work(role: str) -> bool:
    """Log outings, open and follow accompaniments (for the caller's organisation)."""
    return role in STREET_WORK_ROLES


def may_read_street_work(role: str, organisation: str, record_organisation: str) -> bool:
    """Tallies and accompaniments in detail: the worker's own organisation only."""
    return role in STREET_WORK_ROLES and own(organisation, record_organisation)


# -- mediation --------------------------------------------------------------------------------

def may_mediate(role: str) -> bool:
    return role in MEDIATION_ROLES


def may_read_mediation(role: str, organisation: str, case_organisation: str) -> bool:
    """Confidential to the mediation service that holds the case."""
    return role in MEDIATION_ROLES and own(organisation, case_organisation)


# -- technoprevention -------------------------------------------------------------------------

def may_book_visit(role: str) -> bool:
    """The desk books a visit for a citizen at its counter; the advisers book their own."""
    return role in TECHNO_ROLES or role == DESK


def may_work_visits(role: str) -> bool:
    return role in TECHNO_ROLES


def may_read_visit(role: str, organisation: str, visit_organisation: str) -> bool:
    """A visit holds a household's address and its weak points: the advisers only."""
    return role in TECHNO_ROLES and own(organisation, visit_organisation)


# -- concertations and policy notes -----------------------------------------------------------

def may_record_concertation(role: str, organisation: str, present: list[str]) -> bool:
    return role in PREVENTION_ROLES and organisation in present


def may_list_concertations(role: str) -> bool:
    return role in PREVENTION_ROLES


def may_read_concertation(role: str, organisation: str, present: list[str]) -> bool:
    """Decisions are visible to the participating organisations only."""
    return role in PREVENTION_ROLES and organisation in present


def may_file_policy_note(role: str) -> bool:
    return role in PREVENTION_ROLES


def may_read_policy_note(role: str, organisation: str, author_organisation: str) -> bool:
    """The author organisation, and the commune's prevention officer it is written to."""
    return role == COORDINATOR or (role in PREVENTION_ROLES and own(organisation,
                                                                    author_organisation))


# -- figures and the access log ---------------------------------------------------------------

def may_read_figures(role: str) -> bool:
    """Aggregated figures: each team its own, the coordinator every organisation's."""
    return role in PREVENTION_ROLES


def figures_of_own_organisation_only(role: str) -> bool:
    return role != COORDINATOR


def may_read_access_log(role: str) -> bool:
    return role == AUDITOR
