"""Who may read, change and see content, one policy module per service (pure), as a table."""
import pytest

from services.incidents import policy as incidents
from services.referrals import policy as referrals
from services.tags import policy as tags

PARTNER = "social_mediation"


@pytest.mark.parametrize("role, organisation, may_contact, police, expected", [
    ("desk", "antenna_desk", False, False, True),           # own intake
    ("desk", "other_desk", True, True, False),              # someone else's intake
    ("police", "police_zone", False, True, True),           # agreed to police follow-up
    ("police", "police_zone", True, False, False),
    ("coordinator", "prevention_service", False, False, True),
    ("mediator", PARTNER, True, False, True),               # the responsible partner, agreed
    ("mediator", PARTNER, False, False, False),             # ... did not agree
    ("street_worker", "street_work", True, True, False),    # not the responsible partner
    ("warden", PARTNER, True, True, False),
    ("tags", "cellule_tags", True, True, False),            # the crew: the consent record only
    ("auditor", "prevention_service", True, True, False),   # the access log only
    ("admin", "prevention_service", True, True, False),
    ("service", PARTNER, True, True, False),
])
def test_who_reads_a_citizens_contact(role, organisation, may_contact, police, expected):
    assert incidents.may_read_contact(role, organisation, intake_organisation="antenna_desk",
                                      responsible_partner=PARTNER, may_contact=may_contact,
                                      share_with_police=police) is expected


@pytest.mark.parametrize("role, parent, allowed", [
    ("tags", "graffiti", True), ("tags", "cleanliness", False), ("auditor", "social", True),
    ("desk", "nuisance", True), ("service", "graffiti", True), ("police", "graffiti", True),
])
def test_who_reads_which_incident(role, parent, allowed):
    assert incidents.may_read(role, parent) is allowed


@pytest.mark.parametrize("role, report, change, contact_log", [
    ("desk", True, False, False), ("coordinator", False, True, False),
    ("auditor", False, False, True), ("admin", True, True, True), ("tags", False, False, False),
])
def test_who_reports_changes_and_audits_incidents(role, report, change, contact_log):
    assert (incidents.may_report(role), incidents.may_change(role),
            incidents.may_read_contact_log(role)) == (report, change, contact_log)


@pytest.mark.parametrize("role, organisation, metadata, content", [
    ("street_worker", "street_work", True, True),          # sender
    ("street_worker", "addiction_service", True, True),    # receiver
    ("police", "police_zone", False, False),                # police on a social referral
    ("mediator", "social_mediation", False, False),
    ("desk", "street_work", True, False),                   # desk of a party: metadata only
    ("coordinator", "prevention_service", True, False),
    ("auditor", "prevention_service", True, False),
    ("warden", "street_work", False, False),
    ("tags", "cellule_tags", False, False),
])
def test_who_sees_a_referrals_metadata_and_content(role, organisation, metadata, content):
    args = (role, organisation, "street_work", "addiction_service")
    assert referrals.may_read_metadata(*args) is metadata
    assert referrals.may_read_content(*args) is content


def test_wardens_signal_only_and_only_receivers_answer():
    assert referrals.may_send("warden", "situation") and not referrals.may_send("warden", "person")
    assert not referrals.may_send("tags", "situation")
    assert referrals.may_answer("street_worker", "addiction_service", "addiction_service")
    assert not referrals.may_answer("coordinator", "addiction_service", "addiction_service")


@pytest.mark.parametrize("role, organisation, intake, from_incident, reads", [
    ("tags", "cellule_tags", None, False, True), ("coordinator", "x", None, False, True),
    ("desk", "antenna_desk", "antenna_desk", True, True),       # its own intake
    ("desk", "antenna_desk", "antenna_desk", False, False),     # a job the crew made
    ("desk", "antenna_desk", "gardiens_de_la_paix", True, False),
    ("police", "police_zone", "police_zone", True, False), ("auditor", "x", None, True, False),
])
def test_who_reads_a_removal_job(role, organisation, intake, from_incident, reads):
    assert tags.may_read(role, organisation, intake_organisation=intake,
                         from_incident=from_incident) is reads


@pytest.mark.parametrize("role, change, manage_crew, owner_contact, contact_log", [
    ("tags", True, False, True, False), ("coordinator", True, True, True, False),
    ("admin", True, True, False, True), ("desk", False, False, False, False),
    ("auditor", False, False, False, True), ("service", False, False, False, False),
])
def test_who_changes_jobs_manages_the_crew_and_reads_an_owners_contact(
        role, change, manage_crew, owner_contact, contact_log):
    assert (tags.may_change(role), tags.may_manage_crew(role), tags.may_read_owner_contact(role),
            tags.may_read_contact_log(role)) == (change, manage_crew, owner_contact, contact_log)
