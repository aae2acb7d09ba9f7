"""The events the prevention service publishes, for the indicators (issue 11): counts,
neighbourhood, themes, organisation and codes only; the period is the envelope's `occurred_at`
(when the activity happened). Never a client key, a party, an address or free text: every
string field is a closed list of codes or a partner code, and the schemas (strict, like every
payload) refuse any other field."""
from functools import cache

from marshmallow import fields, validate

from services.prevention import domain
from shared.events import PayloadSchema
from shared.reference import neighbourhood_features, partner_codes


@cache
def neighbourhoods() -> tuple[str, ...]:
    return tuple(feature["properties"]["name"] for feature in neighbourhood_features())


class _OneOfLazy(validate.Validator):
    """OneOf over reference data read when first used, not at import."""

    def __init__(self, choices):
        self.choices = choices

    def __call__(self, value):
        if value not in self.choices():
            raise validate.ValidationError("Not a known code.")
        return value


def Organisation(**kwargs) -> fields.String:  # noqa: N802  (a field type)
    return fields.String(validate=_OneOfLazy(partner_codes), **kwargs)


def Neighbourhood(**kwargs) -> fields.String:  # noqa: N802
    return fields.String(validate=_OneOfLazy(neighbourhoods), **kwargs)


def Themes() -> fields.List:  # noqa: N802
    return fields.List(fields.String(validate=validate.OneOf(domain.THEMES)), required=True,
                       validate=validate.Length(max=len(domain.THEMES)))


class ContactsLogged(PayloadSchema):
    """One outing. `worker_ref` is the worker's random staff pseudonym (never a client), so
    'contacts per street worker' can count distinct workers."""
    organisation = Organisation(required=True)
    neighbourhood = Neighbourhood(required=True)
    worker_ref = fields.String(required=True,
                               validate=validate.Regexp(r"^W-[A-Z0-9]{4}-[A-Z0-9]{4}$"))
    contacts = fields.Integer(required=True, validate=validate.Range(min=1))
    new_people = fields.Integer(required=True, validate=validate.Range(min=0))
    themes = Themes()
    # the outing was in the neighbourhood the worker is assigned to
    in_assigned_neighbourhood = fields.Boolean(required=True)


class AccompanimentFacts(PayloadSchema):
    organisation = Organisation(required=True)
    neighbourhood = Neighbourhood(required=True)
    themes = Themes()


class AccompanimentStepReached(AccompanimentFacts):
    step = fields.String(required=True, validate=validate.OneOf(domain.STEPS))
    # 'oriented' is reached through a referral the team sent and the receiver followed up
    referral_reason = fields.String(required=True, allow_none=True,
                                    validate=validate.Regexp(r"^[a-z_]{2,40}$"))


class AccompanimentClosed(AccompanimentFacts):
    outcome = fields.String(required=True, validate=validate.OneOf(domain.ACCOMPANIMENT_OUTCOMES))
    continued_participation = fields.Boolean(required=True)
    reached = fields.String(required=True,
                            validate=validate.OneOf((domain.OPENED, *domain.STEPS)))


class ConcertationHeld(PayloadSchema):
    organisation = Organisation(required=True)   # the one that recorded it
    kind = fields.String(required=True, validate=validate.OneOf(domain.CONCERTATION_KINDS))
    phenomenon = fields.String(required=True, allow_none=True,
                               validate=validate.Regexp(r"^[a-z_]{2,50}$"))
    organisations = fields.List(Organisation(), required=True,
                                validate=validate.Length(min=1, max=40))
    members = fields.Integer(required=True, validate=validate.Range(min=1))


class PolicyNoteFiled(PayloadSchema):
    organisation = Organisation(required=True)
    themes = Themes()


class MediationClosed(PayloadSchema):
    organisation = Organisation(required=True)
    neighbourhood = Neighbourhood(required=True)
    subject = fields.String(required=True, validate=validate.OneOf(domain.MEDIATION_SUBJECTS))
    outcome = fields.String(required=True, validate=validate.OneOf(domain.MEDIATION_OUTCOMES))
    agreement = fields.Boolean(required=True)
    sessions = fields.Integer(required=True, validate=validate.Range(min=0))
    from_incident = fields.Boolean(required=True)


class TechnopreventionVisitDone(PayloadSchema):
    organisation = Organisation(required=True)
    neighbourhood = Neighbourhood(required=True)
    origin = fields.String(required=True, validate=validate.OneOf(domain.VISIT_ORIGINS))
    housing = fields.String(required=True, validate=validate.OneOf(domain.HOUSING_KINDS))
    premium_eligible = fields.Boolean(required=True)
    recommendations = fields.List(
        fields.String(validate=validate.OneOf(domain.RECOMMENDATIONS)), required=True)


# event type -> (current schema version, payload schema)
PUBLISHES = {
    "contacts_logged": (1, ContactsLogged),
    "accompaniment_opened": (1, AccompanimentFacts),
    "accompaniment_step_reached": (1, AccompanimentStepReached),
    "accompaniment_closed": (1, AccompanimentClosed),
    "concertation_held": (1, ConcertationHeld),
    "policy_note_filed": (1, PolicyNoteFiled),
    "mediation_closed": (1, MediationClosed),
    "technoprevention_visit_done": (1, TechnopreventionVisitDone),
}
