"""marshmallow schemas of the prevention service's RPC payloads (its part of the REST API)."""
from marshmallow import Schema, fields, validate

from services.prevention import domain
from shared.fields import RecordId
from shared.paging import Limit, PageQuerySchema, page_schema

NEIGHBOURHOOD = validate.Length(min=1, max=100)
TEXT = validate.Length(min=1, max=4000)


def _themes():
    return fields.List(fields.String(validate=validate.OneOf(domain.THEMES)),
                       load_default=list, validate=validate.Length(max=len(domain.THEMES)))


def _day(description: str):
    return fields.Date(load_default=None, allow_none=True, metadata={"description": description})


# -- inputs -----------------------------------------------------------------------------------

class LogOutingSchema(Schema):
    """One small POST: where, how many, of which new, about what. No identity at all."""
    neighbourhood = fields.String(required=True, validate=NEIGHBOURHOOD)
    contacts = fields.Integer(required=True, validate=validate.Range(min=1, max=500))
    new_people = fields.Integer(load_default=0, validate=validate.Range(min=0, max=500))
    themes = _themes()
    day = _day("The outing's day (default today; up to 92 days back).")


class StreetWorkAssignmentSchema(Schema):
    neighbourhood = fields.String(required=True, validate=NEIGHBOURHOOD, metadata={
        "description": "The neighbourhood the street worker is assigned to."})


class OpenAccompanimentSchema(Schema):
    neighbourhood = fields.String(required=True, validate=NEIGHBOURHOOD)
    themes = _themes()
    notes = fields.String(load_default=None, allow_none=True, validate=TEXT,
                          metadata={"description": "Sealed; the organisation's staff only."})
    day = _day("When the follow-up began (default today).")


class AccompanimentStepSchema(Schema):
    step = fields.String(required=True, validate=validate.OneOf(domain.STEPS))
    referral_id = RecordId(load_default=None, allow_none=True, metadata={
        "description": "For 'oriented': the referral the team sent (referrals service)."})
    day = _day("When the step was reached (default today).")


class CloseAccompanimentSchema(Schema):
    outcome = fields.String(required=True,
                            validate=validate.OneOf(domain.ACCOMPANIMENT_OUTCOMES))
    day = _day("When it ended (default today).")


class ConcertationSchema(Schema):
    kind = fields.String(load_default="network",
                         validate=validate.OneOf(domain.CONCERTATION_KINDS))
    held_on = fields.Date(required=True)
    phenomenon = fields.String(load_default=None, allow_none=True,
                               validate=validate.Regexp(r"^[a-z_]{2,50}$"))
    organisations = fields.List(fields.String(validate=validate.Length(min=1, max=50)),
                                required=True, validate=validate.Length(min=1, max=40))
    decisions = fields.String(required=True, validate=TEXT)
    legal_basis = fields.String(load_default=None, allow_none=True,
                                validate=validate.Length(min=10, max=1000), metadata={
                                    "description": "Case concertation (art. 458ter): the law, "
                                                   "decree or agreement it rests on."})


class PolicyNoteSchema(Schema):
    filed_on = fields.Date(required=True)
    title = fields.String(required=True, validate=validate.Length(min=3, max=200))
    body = fields.String(required=True, validate=validate.Length(min=10, max=20000))
    themes = _themes()


class OpenMediationSchema(Schema):
    subject = fields.String(required=True, validate=validate.OneOf(domain.MEDIATION_SUBJECTS))
    neighbourhood = fields.String(required=True, validate=NEIGHBOURHOOD)
    parties = fields.Integer(load_default=2, validate=validate.Range(min=2, max=10), metadata={
        "description": "How many parties: each gets a random key, returned once here."})
    incident_id = RecordId(load_default=None, allow_none=True, metadata={
        "description": "The neighbour-conflict incident it comes from, if any."})
    summary = fields.String(load_default=None, allow_none=True, validate=TEXT)
    day = _day("When the case was opened (default today).")


class MediationSessionSchema(Schema):
    held_on = fields.Date(required=True)
    parties_present = fields.Integer(required=True, validate=validate.Range(min=0, max=10))
    notes = fields.String(load_default=None, allow_none=True, validate=TEXT)


class CloseMediationSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(domain.MEDIATION_OUTCOMES))
    day = _day("When it was closed (default today).")


class BookVisitSchema(Schema):
    origin = fields.String(required=True, validate=validate.OneOf(domain.VISIT_ORIGINS))
    incident_id = RecordId(load_default=None, allow_none=True, metadata={
        "description": "The burglary incident or desk request it follows, if any."})
    neighbourhood = fields.String(required=True, validate=NEIGHBOURHOOD)
    housing = fields.String(required=True, validate=validate.OneOf(domain.HOUSING_KINDS))
    address = fields.String(required=True, validate=validate.Length(min=5, max=300))
    contact = fields.String(required=True, validate=validate.Length(min=3, max=200))
    planned_for = fields.Date(required=True)


class VisitReportSchema(Schema):
    recommendations = fields.List(
        fields.String(validate=validate.OneOf(domain.RECOMMENDATIONS)), required=True,
        validate=validate.Length(min=1, max=len(domain.RECOMMENDATIONS)))
    burglary_victim = fields.Boolean(load_default=False)
    report = fields.String(required=True, validate=TEXT)
    day = _day("When the visit took place (default today).")


class CancelVisitSchema(Schema):
    pass


class PreventionListQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.Length(max=40))


class PreventionFiguresQuerySchema(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))


class PreventionAccessLogQuerySchema(PageQuerySchema):
    record_kind = fields.String(validate=validate.OneOf(
        ("accompaniment", "tally", "concertation", "mediation", "visit", "policy_note")))
    record_id = RecordId()
    limit = Limit(100, 1000)


# -- outputs ----------------------------------------------------------------------------------

class PreventionHistoryEntrySchema(Schema):
    from_status = fields.String(required=True, allow_none=True)
    to_status = fields.String(required=True)
    actor = fields.String(required=True)
    actor_role = fields.String(required=True)
    at = fields.DateTime(required=True)
    note = fields.String(required=True, allow_none=True)


class TallySchema(Schema):
    id = fields.Integer(required=True)
    organisation = fields.String(required=True)
    worker = fields.String(required=True)
    day = fields.Date(required=True)
    neighbourhood = fields.String(required=True)
    contacts = fields.Integer(required=True)
    new_people = fields.Integer(required=True)
    themes = fields.List(fields.String(), required=True)


TallyPageSchema = page_schema("TallyPageSchema", TallySchema)


class AccompanimentSchema(Schema):
    id = fields.Integer(required=True)
    organisation = fields.String(required=True)
    client_key = fields.String(required=True, metadata={
        "description": "Random pseudonymous key: the organisation relates it to a person in "
                       "its own notebook, never here."})
    neighbourhood = fields.String(required=True)
    themes = fields.List(fields.String(), required=True)
    status = fields.String(required=True)
    outcome = fields.String(required=True, allow_none=True)
    opened_at = fields.DateTime(required=True)
    closed_at = fields.DateTime(required=True, allow_none=True)
    referral_ids = fields.List(fields.Integer(), required=True)
    notes = fields.String(allow_none=True, metadata={"description": "In the view of one "
                                                                    "accompaniment (logged)."})
    history = fields.List(fields.Nested(PreventionHistoryEntrySchema))


AccompanimentPageSchema = page_schema("AccompanimentPageSchema", AccompanimentSchema)


class ConcertationViewSchema(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True, metadata={
        "description": "Citable by a referral's legal basis (case concertation, art. 458ter)."})
    kind = fields.String(required=True)
    held_on = fields.Date(required=True)
    phenomenon = fields.String(required=True, allow_none=True)
    organisations = fields.List(fields.String(), required=True)
    recorded_org = fields.String(required=True)
    decisions = fields.String(allow_none=True)
    legal_basis = fields.String(allow_none=True)


ConcertationPageSchema = page_schema("ConcertationPageSchema", ConcertationViewSchema)


class PolicyNoteViewSchema(Schema):
    id = fields.Integer(required=True)
    organisation = fields.String(required=True)
    author = fields.String(required=True)
    filed_on = fields.Date(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    themes = fields.List(fields.String(), required=True)


PolicyNotePageSchema = page_schema("PolicyNotePageSchema", PolicyNoteViewSchema)


class MediationSessionViewSchema(Schema):
    held_on = fields.Date(required=True)
    parties_present = fields.Integer(required=True)
    notes = fields.String(required=True, allow_none=True)


class MediationCaseSchema(Schema):
    id = fields.Integer(required=True)
    organisation = fields.String(required=True)
    subject = fields.String(required=True)
    neighbourhood = fields.String(required=True)
    incident_id = fields.Integer(required=True, allow_none=True)
    party_keys = fields.List(fields.String(), required=True)
    status = fields.String(required=True)
    outcome = fields.String(required=True, allow_none=True)
    opened_at = fields.DateTime(required=True)
    closed_at = fields.DateTime(required=True, allow_none=True)
    session_count = fields.Integer(required=True)
    summary = fields.String(allow_none=True)
    sessions = fields.List(fields.Nested(MediationSessionViewSchema))
    history = fields.List(fields.Nested(PreventionHistoryEntrySchema))


MediationCasePageSchema = page_schema("MediationCasePageSchema", MediationCaseSchema)


class VisitViewSchema(Schema):
    id = fields.Integer(required=True)
    organisation = fields.String(required=True)
    origin = fields.String(required=True)
    incident_id = fields.Integer(required=True, allow_none=True)
    neighbourhood = fields.String(required=True)
    housing = fields.String(required=True)
    planned_for = fields.Date(required=True)
    status = fields.String(required=True)
    visited_at = fields.DateTime(required=True, allow_none=True)
    recommendations = fields.List(fields.String(), required=True)
    premium_eligible = fields.Boolean(required=True, allow_none=True)
    address = fields.String(allow_none=True)
    contact = fields.String(allow_none=True)
    report = fields.String(allow_none=True)
    history = fields.List(fields.Nested(PreventionHistoryEntrySchema))


VisitPageSchema = page_schema("VisitPageSchema", VisitViewSchema)


class PreventionMonthFiguresSchema(Schema):
    month = fields.String(required=True)
    outings = fields.Integer(required=True)
    contacts = fields.Integer(required=True)
    new_people = fields.Integer(required=True)
    accompaniments_opened = fields.Integer(required=True)
    accompaniments_closed = fields.Integer(required=True)
    mediations_closed = fields.Integer(required=True)
    visits_done = fields.Integer(required=True)


class PreventionFiguresSchema(Schema):
    year = fields.Integer(required=True)
    organisations = fields.List(fields.String(), required=True)
    months = fields.List(fields.Nested(PreventionMonthFiguresSchema), required=True)
    suppressed_below = fields.Integer(required=True, metadata={
        "description": "Counts of people under this are shown as 0 with `suppressed` naming "
                       "them (DESIGN.md section 5)."})
    suppressed = fields.List(fields.String(), required=True)


class PreventionAccessLogEntrySchema(Schema):
    record_kind = fields.String(required=True)
    record_id = fields.Integer(required=True, allow_none=True)
    user = fields.String(required=True)
    role = fields.String(required=True)
    organisation = fields.String(required=True)
    action = fields.String(required=True)
    purpose = fields.String(required=True)
    granted = fields.Boolean(required=True)
    at = fields.DateTime(required=True)


AccessLogPageSchema = page_schema("PreventionAccessLogPageSchema",
                                  PreventionAccessLogEntrySchema)
