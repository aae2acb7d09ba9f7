"""Pure rules of referrals (orientations) between partners: lifecycle, the basis a referral
about a person needs, reminders and expiry. No I/O, no framework.

Professional secrecy (art. 458 Code pénal) makes sharing the exception: a referral about a
person needs the person's consent for that receiver, or a legal basis (a case concertation under
art. 458ter, or a danger to someone's physical integrity, justified). Who may see and do what:
policy.py."""
from dataclasses import dataclass
from datetime import datetime

from shared.calendar import BRUSSELS, add_working_days
from shared.state_machine import SYSTEM, USERS, Lifecycle

SENT, ACCEPTED, DECLINED = "sent", "accepted", "declined"
CONTACT_MADE, CLOSED, EXPIRED = "contact_made", "closed", "expired"
STATUSES = (SENT, ACCEPTED, DECLINED, CONTACT_MADE, CLOSED, EXPIRED)
# Sent -> closed: withdrawn by the sender, or the person withdrew consent before an answer.
# Only the platform lets an unanswered referral expire.
LIFECYCLE = Lifecycle(
    "referral", STATUSES,
    {
        SENT: {ACCEPTED: USERS, DECLINED: USERS, CLOSED: USERS, EXPIRED: SYSTEM},
        ACCEPTED: {CONTACT_MADE: USERS, CLOSED: USERS},
        CONTACT_MADE: {CLOSED: USERS},
        DECLINED: {},
        CLOSED: {},
        EXPIRED: {},
    },
    stamps={ACCEPTED: ("answered_at",), DECLINED: ("answered_at", "closed_at"),
            CONTACT_MADE: ("contact_made_at",), CLOSED: ("closed_at",),
            EXPIRED: ("closed_at",)},
)
OPEN_STATUSES = frozenset({SENT, ACCEPTED, CONTACT_MADE})

OUTCOMES = ("successful", "unsuccessful", "withdrawn", "no_show")
URGENCIES = ("low", "normal", "high", "urgent")
SUBJECTS = ("person", "situation")
CONSENT_KINDS = ("verbal", "written")
LEGAL_BASES = ("case_concertation_458ter", "danger_physical_integrity")
REASONS = ("housing", "addiction", "family_violence", "homelessness", "youth", "mediation",
           "victim_support", "social_aid", "judicial_measures", "technoprevention",
           "school_dropout", "public_space_signal")

class RuleViolation(ValueError):
    pass


def check_outcome(status: str, outcome: str) -> None:
    """Successful means accepted and a first contact took place."""
    if outcome not in OUTCOMES:
        raise RuleViolation(f"Outcome must be one of {', '.join(OUTCOMES)}.")
    if outcome == "successful" and status != CONTACT_MADE:
        raise RuleViolation("A referral is successful only once a first contact took place.")
    if outcome == "withdrawn" and status != SENT:
        raise RuleViolation("Only a referral not yet answered can be withdrawn.")


def is_successful(status: str, outcome: str | None) -> bool:
    return status == CLOSED and outcome == "successful"


@dataclass(frozen=True)
class Basis:
    consent_kind: str | None = None
    consent_given_at: datetime | None = None
    consent_receiver: str | None = None
    consent_expires_at: datetime | None = None
    legal_basis: str | None = None
    legal_reference: str | None = None


def check_basis(subject: str, basis: Basis, receiver_org: str, now: datetime,
                shares_identity: bool) -> None:
    """No referral about a person without a recorded basis; identity only with consent."""
    if subject == "situation":
        if shares_identity:
            raise RuleViolation("A referral about a situation carries no identity.")
        return
    has_consent = basis.consent_kind is not None
    if has_consent:
        if basis.consent_kind not in CONSENT_KINDS:
            raise RuleViolation("Consent is verbal or written.")
        if basis.consent_receiver != receiver_org:
            raise RuleViolation("The consent was not given for this receiver.")
        if basis.consent_given_at is None or basis.consent_given_at > now:
            raise RuleViolation("The consent needs the date it was given (not in the future).")
        if basis.consent_expires_at is not None and basis.consent_expires_at <= now:
            raise RuleViolation("The consent has expired.")
        return
    if basis.legal_basis is None:
        raise RuleViolation("A referral about a person needs the person's consent or a legal "
                            "basis.")
    if basis.legal_basis not in LEGAL_BASES:
        raise RuleViolation(f"Legal basis must be one of {', '.join(LEGAL_BASES)}.")
    if not basis.legal_reference or len(basis.legal_reference.strip()) < 10:
        raise RuleViolation("A legal basis needs its reference or justification.")
    if shares_identity:
        raise RuleViolation("Name and contact are shared only with the person's consent.")


# -- reminders and expiry -----------------------------------------------------------------------

def reminder_due(sent_at: datetime, now: datetime, working_days: int,
                 reminded_at: datetime | None) -> bool:
    if reminded_at is not None:
        return False
    due = add_working_days(sent_at.astimezone(BRUSSELS).date(), working_days)
    return now.astimezone(BRUSSELS).date() >= due


def expired(sent_at: datetime, now: datetime, working_days: int) -> bool:
    due = add_working_days(sent_at.astimezone(BRUSSELS).date(), working_days)
    return now.astimezone(BRUSSELS).date() > due
