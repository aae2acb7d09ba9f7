"""Who may do what with removal jobs and the crew, and who reads an owner's contact (DESIGN.md
section 5). Pure: roles and organisations in, yes or no out; the use cases and views ask here
and nowhere else."""
TAGS, COORDINATOR, ADMIN, DESK, AUDITOR = "tags", "coordinator", "admin", "desk", "auditor"
SERVICE = "service"  # another service checking what an event of a job claims

CHANGERS = frozenset({TAGS, COORDINATOR, ADMIN})
CREW_MANAGERS = frozenset({COORDINATOR, ADMIN})
OWNER_CONTACT_READERS = frozenset({TAGS, COORDINATOR})
CONTACT_LOG_READERS = frozenset({AUDITOR, ADMIN})


def may_list(role: str) -> bool:
    """Some removal jobs (which ones: `lists_own_intake_only`, `may_read`)."""
    return role in CHANGERS or role == DESK


def lists_own_intake_only(role: str) -> bool:
    """The desk follows the jobs of incidents its organisation logged, no others."""
    return role == DESK


def may_read(role: str, organisation: str, *, intake_organisation: str | None,
             from_incident: bool) -> bool:
    """Crew and coordinator: every job. Desk: the job of an incident its organisation logged."""
    if role in CHANGERS:
        return True
    return lists_own_intake_only(role) and from_incident and \
        intake_organisation == organisation


def may_change(role: str) -> bool:
    """Create, assess, record consent, schedule, complete, cancel; and plan the day."""
    return role in CHANGERS


def may_read_crew(role: str) -> bool:
    return role in CHANGERS


def may_manage_crew(role: str) -> bool:
    """Add members, deactivate them, record their absences."""
    return role in CREW_MANAGERS


def may_read_owner_contact(role: str) -> bool:
    """The owner's name and contact on a consent record, one job at a time, every read logged:
    the crew, who must reach the owner, and the coordinator."""
    return role in OWNER_CONTACT_READERS


def may_check_job_facts(role: str) -> bool:
    """Another service checking an event of a job; no person."""
    return role == SERVICE


def may_read_contact_log(role: str) -> bool:
    return role in CONTACT_LOG_READERS
