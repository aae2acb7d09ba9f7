"""Pure rules of the prevention activity log (issue 11): street-work tallies, accompaniments,
concertations, policy notes, neighbour mediation and technoprevention visits. No I/O, no
framework.

Street work rests on anonymity and free consent (DESIGN.md section 2): a tally holds numbers and
themes, never a person; an accompaniment follows one person under a pseudonymous key that only
the worker's organisation can relate to someone (ADR 26). Who may read what: policy.py.
"""
import secrets
from datetime import UTC, date, datetime, time, timedelta

from shared.state_machine import USERS, Lifecycle

THEMES = ("housing", "addiction", "school", "violence", "employment", "health",
          "homelessness", "family", "leisure", "administration", "other")

# -- accompaniments --------------------------------------------------------------------------
OPENED, FIRST_CONTACT, TRUST, ORIENTED, STRUCTURING = (
    "opened", "first_contact", "trust_established", "oriented", "joined_structuring_activity")
CLOSED = "closed"
STEPS = (FIRST_CONTACT, TRUST, ORIENTED, STRUCTURING)
ACCOMPANIMENT_STATUSES = (OPENED, *STEPS, CLOSED)
# A follow-up moves forward one step at a time, may skip ahead (someone met for the first time
# may already trust the team) and may close at any point: people come and go.
ACCOMPANIMENT = Lifecycle(
    "accompaniment", ACCOMPANIMENT_STATUSES,
    {
        OPENED: {FIRST_CONTACT: USERS, TRUST: USERS, ORIENTED: USERS, STRUCTURING: USERS,
                 CLOSED: USERS},
        FIRST_CONTACT: {TRUST: USERS, ORIENTED: USERS, STRUCTURING: USERS, CLOSED: USERS},
        TRUST: {ORIENTED: USERS, STRUCTURING: USERS, CLOSED: USERS},
        ORIENTED: {STRUCTURING: USERS, CLOSED: USERS},
        STRUCTURING: {CLOSED: USERS},
        CLOSED: {},
    },
    stamps={CLOSED: ("closed_at",)},
    touched="updated_at",
)
# Continued participation in a structuring activity (school, training, work, club) is the PSSP
# result the share indicator counts.
ACCOMPANIMENT_OUTCOMES = ("continued_participation", "oriented_elsewhere", "lost_contact",
                          "ended_by_person", "moved_away", "other")
CONTINUED = "continued_participation"

# -- concertations ----------------------------------------------------------------------------
CONCERTATION_KINDS = ("network", "case_concertation_458ter")
CASE_CONCERTATION = "case_concertation_458ter"

# -- neighbour mediation ---------------------------------------------------------------------
MEDIATION_SUBJECTS = ("noise", "animals", "party_walls", "insults", "harassment", "other")
M_OPEN, M_IN_PROGRESS, M_CLOSED = "open", "in_progress", "closed"
MEDIATION = Lifecycle(
    "mediation case", (M_OPEN, M_IN_PROGRESS, M_CLOSED),
    {M_OPEN: {M_IN_PROGRESS: USERS, M_CLOSED: USERS},
     M_IN_PROGRESS: {M_CLOSED: USERS},
     M_CLOSED: {}},
    stamps={M_CLOSED: ("closed_at",)},
    touched="updated_at",
)
# What a case opened from a neighbour-conflict incident is about until the mediator meets the
# parties: the incident names the category, not the subject.
INCIDENT_SUBJECT = "other"
MEDIATION_OUTCOMES = ("agreement", "partial_agreement", "no_agreement", "referred_to_court",
                      "withdrawn")
AGREEMENT = "agreement"

# -- technoprevention visits ------------------------------------------------------------------
VISIT_ORIGINS = ("desk_request", "burglary_incident", "own_initiative")
V_BOOKED, V_DONE, V_CANCELLED = "booked", "done", "cancelled"
VISIT = Lifecycle(
    "technoprevention visit", (V_BOOKED, V_DONE, V_CANCELLED),
    {V_BOOKED: {V_DONE: USERS, V_CANCELLED: USERS}, V_DONE: {}, V_CANCELLED: {}},
    stamps={V_DONE: ("visited_at",)},
    touched="updated_at",
)
RECOMMENDATIONS = ("door_lock", "window_lock", "lighting", "alarm", "camera", "safe",
                   "behaviour", "neighbour_watch", "other")
HOUSING_KINDS = ("house", "apartment", "shop", "other")


class RuleViolation(ValueError):
    pass


# -- pseudonymous keys (ADR 26) ----------------------------------------------------------------

KEY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I/L: read aloud, copied by hand


def new_key(prefix: str) -> str:
    """A random pseudonymous key (e.g. 'SW-7F3A-K9QD'): derived from nothing about the person,
    so it cannot be recomputed from a name, only looked up in the organisation's own notebook."""
    body = "".join(secrets.choice(KEY_ALPHABET) for _ in range(8))
    return f"{prefix}-{body[:4]}-{body[4:]}"


# -- dates ------------------------------------------------------------------------------------

BACKDATE_DAYS = 92   # a tally or a step may be logged up to a quarter after it happened


def activity_time(day: date | None, now: datetime) -> datetime:
    """When an activity logged for `day` happened, as the indicators date it: noon UTC of that
    day (a day's activities are counted in that day's month whatever the hour), or now."""
    if day is None:
        return now
    return datetime.combine(day, time(12), tzinfo=UTC)


def check_day(day: date | None, now: datetime) -> None:
    if day is None:
        return
    today = now.astimezone(UTC).date()
    if day > today:
        raise RuleViolation("The date is in the future.")
    if day < today - timedelta(days=BACKDATE_DAYS):
        raise RuleViolation(f"Log activities within {BACKDATE_DAYS} days.")


def check_tally(contacts: int, new_people: int) -> None:
    if new_people > contacts:
        raise RuleViolation("New people are counted among the contacts: at most as many.")


def period_of(at: datetime) -> str:
    """The month an activity counts in ('2026-11')."""
    return at.astimezone(UTC).strftime("%Y-%m")


def check_step(current: str, target: str, referral_id: int | None) -> None:
    """'Oriented' means oriented to a social service through a referral the team sent."""
    if target not in STEPS:
        raise RuleViolation(f"Step must be one of {', '.join(STEPS)}.")
    if target == ORIENTED and referral_id is None:
        raise RuleViolation("Oriented needs the referral that oriented the person.")
    if ACCOMPANIMENT_STATUSES.index(target) <= ACCOMPANIMENT_STATUSES.index(current):
        raise RuleViolation(f"The accompaniment already reached '{current}'.")


def referral_counts_as_oriented(referral: dict, organisation: str) -> bool:
    """A referral orients the person when the team sent it and the receiver made contact (or
    closed it successfully): the PSSP 'successful referral to social infrastructure'."""
    return referral.get("sender_org") == organisation and referral.get("subject") == "person" \
        and (referral.get("status") == "contact_made" or bool(referral.get("successful")))


def check_parties(keys: list[str]) -> None:
    if len(keys) < 2:
        raise RuleViolation("A neighbour mediation has at least two parties.")


def premium_eligible(recommendations: list[str], housing: str, burglary_victim: bool) -> bool:
    """Eligibility for the communal security premium, as the communes' rules go: a dwelling
    (house or apartment) where the adviser recommends mechanical protection (locks), or any
    dwelling of a burglary victim. A shop is covered by the regional scheme instead."""
    if housing not in ("house", "apartment"):
        return False
    mechanical = {"door_lock", "window_lock"} & set(recommendations)
    return bool(mechanical) or burglary_victim
