"""The words the pages and the API's errors show that no template or page module writes out:
the values of the services' enumerations (statuses, roles, methods, reasons...) and the English
messages the services and marshmallow raise. Listed here only so Babel extracts them into the
catalogue (`N_` marks without translating); the values themselves stay the services' own.

A message with a value formatted into it is written with named placeholders
("Length must be between %(min)s and %(max)s."): shared.i18n matches the message against it and
translates the rest."""


def N_(message: str) -> str:  # noqa: N802  (gettext's marker name)
    return message


ROLES = [N_("desk"), N_("warden"), N_("street_worker"), N_("mediator"), N_("police"),
         N_("tags"), N_("coordinator"), N_("auditor"), N_("admin")]

INCIDENT_STATUSES = [N_("new"), N_("triaged"), N_("in_progress"), N_("resolved"), N_("closed"),
                     N_("cancelled"), N_("reopened"), N_("duplicate")]
DUPLICATE_REASONS = [N_("within_50m"), N_("same_street")]

JOB_STATUSES = [N_("created"), N_("awaiting_consent"), N_("ready"), N_("scheduled"), N_("done"),
                N_("rejected")]
SURFACES = [N_("brick"), N_("stone"), N_("concrete"), N_("metal"), N_("glass"), N_("wood"),
            N_("painted"), N_("other")]
OWNERSHIPS = [N_("public"), N_("private"), N_("commercial")]
CONTENTS = [N_("ordinary"), N_("offensive"), N_("hate")]
METHODS = [N_("pressure_washing"), N_("chemical"), N_("paint_over")]
PHOTO_KINDS = [N_("before"), N_("after")]

REFERRAL_STATUSES = [N_("sent"), N_("accepted"), N_("declined"), N_("contact_made"),
                     N_("expired")]
SUBJECTS = [N_("person"), N_("situation")]
REASONS = [N_("housing"), N_("addiction"), N_("family_violence"), N_("homelessness"),
           N_("youth"), N_("mediation"), N_("victim_support"), N_("social_aid"),
           N_("judicial_measures"), N_("technoprevention"), N_("school_dropout"),
           N_("public_space_signal")]
URGENCIES = [N_("low"), N_("normal"), N_("high"), N_("urgent")]
CONSENT_KINDS = [N_("verbal"), N_("written")]
OUTCOMES = [N_("successful"), N_("unsuccessful"), N_("withdrawn"), N_("no_show")]

ERRORS = [
    # the gateway and shared
    N_("Wrong username or password."), N_("Please log in."),
    N_("This page is not for your role."), N_("The request has invalid fields."),
    N_("The body is not valid JSON."), N_("Expected a JSON object."), N_("Expected an object."),
    N_("Internal error."), N_("The platform is briefly unavailable; try again."),
    N_("A service did not answer in time."), N_("Send 'Authorization: Bearer <token>'."),
    N_("Unknown token."), N_("The token has expired or was revoked."),
    N_("Too many failed logins; try again in %(seconds)s seconds."),
    N_("Role '%(role)s' may not do this."), N_("No endpoint %(method)s %(path)s."),
    N_("Unknown language."), N_("The form is too large."),
    N_("The form has expired or did not come from this site; reload the page and try again."),
    N_("Choose a photo to upload."), N_("The photo is too large."),
    N_("This file is not a photo (JPEG, PNG or WebP)."),
    N_("Say whether the photo is before or after the removal."), N_("No such photo."),
    # marshmallow's own
    N_("Missing data for required field."), N_("Field may not be null."),
    N_("Not a valid string."), N_("Not a valid number."), N_("Not a valid integer."),
    N_("Not a valid boolean."), N_("Not a valid email address."), N_("Not a valid date."),
    N_("Not a valid datetime."), N_("Unknown field."), N_("Invalid value."),
    N_("String does not match expected pattern."),
    N_("Must be one of: %(choices)s."),
    N_("Length must be between %(min)s and %(max)s."),
    N_("Shorter than minimum length %(min)s."), N_("Longer than maximum length %(max)s."),
    N_("Must be greater than %(min)s and less than or equal to %(max)s."),
    N_("Must be greater than or equal to %(min)s and less than or equal to %(max)s."),
    # the services'
    N_("No such incident."), N_("The description is empty."),
    N_("Give both lat and lon, or neither."), N_("Latitude is outside Belgium."),
    N_("Longitude is outside Belgium."), N_("Choose a sub-category."),
    N_("Unknown original incident."), N_("Use triage to triage an incident."),
    N_("Private property: record the owner's consent first."),
    N_("Public property needs no owner consent."),
    N_("The m2 removed is implausible for this job."),
    N_("Name the crew members who did the work."), N_("Unknown crew member."),
    N_("A %(status)s job cannot be changed."),
    N_("A referral about a person needs the person's consent or a legal basis."),
    N_("A referral about a situation carries no identity."),
    N_("A referral goes to another organisation."),
    N_("A referral is successful only once a first contact took place."),
    N_("This service does not accept that kind of referral."), N_("Unknown receiver."),
    N_("No such service."), N_("No such partner service."),
    N_("Name and contact are shared only with the person's consent."),
]
