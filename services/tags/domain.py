"""Pure rules of graffiti removal: the job lifecycle, priority and deadline, owner consent,
legal walls, recurrence and work estimates. No I/O, no framework."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.calendar import BRUSSELS, add_working_days, working_days_deadline
from shared.geo import distance_m
from shared.state_machine import ANYONE, SYSTEM, USERS, Lifecycle

SURFACES = ("brick", "stone", "concrete", "metal", "glass", "wood", "painted", "other")
OWNERSHIPS = ("public", "private", "commercial")
CONTENTS = ("ordinary", "offensive", "hate")
METHODS = ("pressure_washing", "chemical", "paint_over", "other")

CREATED, AWAITING_CONSENT, READY, SCHEDULED = "created", "awaiting_consent", "ready", "scheduled"
DONE, CANCELLED, REJECTED = "done", "cancelled", "rejected"
STATUSES = (CREATED, AWAITING_CONSENT, READY, SCHEDULED, DONE, CANCELLED, REJECTED)

# A job's first status is the rules' decision, made by the platform when the job is created
# (waiting for the owner's waiver, ready, or rejected on a legal wall). The crew's assessment on
# site may find private property: a ready or even scheduled job without the owner's waiver goes
# back to waiting for it (and the other way round). A scheduled job may be moved to another day.
LIFECYCLE = Lifecycle(
    "removal job", STATUSES,
    {
        CREATED: {AWAITING_CONSENT: SYSTEM, READY: SYSTEM, REJECTED: SYSTEM},
        AWAITING_CONSENT: {READY: USERS, CANCELLED: ANYONE},
        READY: {SCHEDULED: USERS, AWAITING_CONSENT: USERS, CANCELLED: ANYONE},
        SCHEDULED: {SCHEDULED: USERS, DONE: USERS, AWAITING_CONSENT: USERS, CANCELLED: ANYONE},
        DONE: {},
        CANCELLED: {},
        REJECTED: {},
    },
    stamps={AWAITING_CONSENT: ("awaiting_since",), DONE: ("completed_at",)},
    clears={AWAITING_CONSENT: ("scheduled_for",)},
    touched="updated_at",
)
OPEN_STATUSES = frozenset({CREATED, AWAITING_CONSENT, READY, SCHEDULED})

EQUIPMENT_HEIGHT_M = 3.0          # above this, the lift and two crew members
RECURRENCE_WINDOW = timedelta(days=90)
CONSENT_REMINDER_WORKING_DAYS = 10
SAME_SITE_RADIUS_M = 15.0
MAX_AREA_M2 = 500.0               # a larger "job" is a façade renovation, not a removal
MAX_HEIGHT_M = 25.0


class RuleViolation(ValueError):
    pass


# -- what an incident's state means for its removal job -------------------------------------------

GRAFFITI = "graffiti"   # the incidents' parent category this crew removes (the one definition)
INCIDENT_OPEN = frozenset({"new", "triaged", "in_progress", "reopened"})
INCIDENT_WITHDRAWN = frozenset({"cancelled", "duplicate"})
CREATE_JOB, CANCEL_JOB = "create", "cancel"


def job_action(parent_category: str, incident_status: str, job_status: str | None) -> str | None:
    """What the removal job of an incident should become, from the incident as it is now (not
    from the event that brought the news, which may be older than another already seen): a
    graffiti incident still open gets its one job; a job whose incident was cancelled, marked a
    duplicate or reclassified as something else is cancelled. A job already past its open states
    stays as it is."""
    graffiti = parent_category == GRAFFITI
    if job_status is None:
        return CREATE_JOB if graffiti and incident_status in INCIDENT_OPEN else None
    if job_status in OPEN_STATUSES and (not graffiti or incident_status in INCIDENT_WITHDRAWN):
        return CANCEL_JOB
    return None


def needs_consent(ownership: str) -> bool:
    return ownership in ("private", "commercial")


def first_status(ownership: str, has_consent: bool) -> str:
    """Where a new job starts: waiting for the owner's signed waiver, or ready to plan."""
    return AWAITING_CONSENT if needs_consent(ownership) and not has_consent else READY


def status_after_assessment(status: str, ownership: str, has_consent: bool) -> str:
    """What the crew's assessment on site means for an open job: private property without the
    owner's waiver waits for it (unplanned if it was planned); a job that waited for a waiver it
    turns out not to need is ready."""
    if needs_consent(ownership) and not has_consent and status in (READY, SCHEDULED):
        return AWAITING_CONSENT
    if not needs_consent(ownership) and status == AWAITING_CONSENT:
        return READY
    return status


# -- priority and deadline --------------------------------------------------------------------

@dataclass(frozen=True)
class Urgency:
    priority: int             # 1 = most urgent
    working_days: int
    counts_from_consent: bool


def urgency(content: str, ownership: str) -> Urgency:
    """Offensive or hate content within 1 working day (whoever owns the wall: it is removed,
    or covered, first); public buildings within 5; private within 10 after consent."""
    if content in ("offensive", "hate"):
        return Urgency(1, 1, False)
    if ownership == "public":
        return Urgency(2, 5, False)
    return Urgency(3, 10, True)


def deadline(content: str, ownership: str, created_at: datetime,
             consent_at: datetime | None) -> datetime | None:
    """None while a private job's clock has not started (no consent yet)."""
    rule = urgency(content, ownership)
    if rule.counts_from_consent:
        if consent_at is None:
            return None
        return working_days_deadline(consent_at, rule.working_days)
    return working_days_deadline(created_at, rule.working_days)


def consent_reminder_due(awaiting_since: datetime, now: datetime,
                         reminded_at: datetime | None) -> bool:
    """Remind after 10 working days without consent, then every 10 working days."""
    since = reminded_at or awaiting_since
    due = add_working_days(since.astimezone(BRUSSELS).date(), CONSENT_REMINDER_WORKING_DAYS)
    return now.astimezone(BRUSSELS).date() >= due


# -- legal walls and recurrence ---------------------------------------------------------------

@dataclass(frozen=True)
class LegalWall:
    code: str
    name: str
    lat: float
    lon: float
    radius_m: float


def legal_wall_at(lat: float | None, lon: float | None, walls: list[LegalWall]
                  ) -> LegalWall | None:
    if lat is None or lon is None:
        return None
    for wall in walls:
        if distance_m(lat, lon, wall.lat, wall.lon) <= wall.radius_m:
            return wall
    return None


def is_recurrence(last_removal_at: datetime | None, now: datetime) -> bool:
    """Tagged again within 90 days of a removal at the same site."""
    return last_removal_at is not None and now - last_removal_at <= RECURRENCE_WINDOW


# -- work estimates ---------------------------------------------------------------------------

# Minutes per m2 by surface with the usual method (porous stone and brick take longer).
MINUTES_PER_M2 = {"brick": 14, "stone": 16, "concrete": 12, "metal": 8, "glass": 6,
                  "wood": 12, "painted": 10, "other": 12}
SETUP_MINUTES = 20
EQUIPMENT_SETUP_MINUTES = 30


def estimated_minutes(surface: str, area_m2: float, height_m: float) -> int:
    minutes = SETUP_MINUTES + MINUTES_PER_M2.get(surface, 12) * area_m2
    if height_m > EQUIPMENT_HEIGHT_M:
        minutes += EQUIPMENT_SETUP_MINUTES
    return int(round(minutes))


def crew_needed(height_m: float) -> int:
    return 2 if height_m > EQUIPMENT_HEIGHT_M else 1


def validate_job(surface: str, area_m2: float, height_m: float, ownership: str,
                 content: str) -> None:
    problems = []
    if surface not in SURFACES:
        problems.append(f"unknown surface '{surface}'")
    if ownership not in OWNERSHIPS:
        problems.append(f"unknown ownership '{ownership}'")
    if content not in CONTENTS:
        problems.append(f"unknown content flag '{content}'")
    if not 0 < area_m2 <= MAX_AREA_M2:
        problems.append(f"area must be more than 0 and at most {MAX_AREA_M2:g} m2")
    if not 0 <= height_m <= MAX_HEIGHT_M:
        problems.append(f"height must be between 0 and {MAX_HEIGHT_M:g} m")
    if problems:
        raise RuleViolation("; ".join(problems))


def check_completion(removed_m2: float | None, method: str | None, minutes: int | None,
                     crew: list[str], estimated_m2: float) -> None:
    if removed_m2 is None or removed_m2 <= 0:
        raise RuleViolation("Completion needs the m2 actually removed.")
    if removed_m2 > max(estimated_m2 * 5, MAX_AREA_M2):
        raise RuleViolation("The m2 removed is implausible for this job.")
    if method not in METHODS:
        raise RuleViolation(f"Method must be one of {', '.join(METHODS)}.")
    if minutes is None or not 0 < minutes <= 16 * 60:
        raise RuleViolation("Minutes spent must be between 1 and 960.")
    if not crew:
        raise RuleViolation("Name the crew members who did the work.")

