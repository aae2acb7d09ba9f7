"""marshmallow schemas of the referrals service's RPC payloads (and its part of the REST API)."""
from marshmallow import Schema, fields, validate

from services.referrals import domain
from shared.fields import Offset, RecordId


class ReferralConsentSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(domain.CONSENT_KINDS))
    given_at = fields.AwareDateTime(required=True)
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True)


class LegalBasisSchema(Schema):
    basis = fields.String(required=True, validate=validate.OneOf(domain.LEGAL_BASES))
    reference = fields.String(required=True, validate=validate.Length(min=10, max=1000),
                              metadata={"description": "Case concertation reference, or the "
                                                       "justification of the danger."})


class PersonIdentitySchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = fields.String(load_default=None, allow_none=True,
                          validate=validate.Regexp(r"^\+?[0-9 ./()-]{6,30}$"))
    email = fields.Email(load_default=None, allow_none=True)


class SendReferralSchema(Schema):
    receiver_service = fields.String(required=True, validate=validate.Length(min=1, max=50))
    subject = fields.String(required=True, validate=validate.OneOf(domain.SUBJECTS))
    reason = fields.String(required=True, validate=validate.OneOf(domain.REASONS))
    urgency = fields.String(load_default="normal", validate=validate.OneOf(domain.URGENCIES))
    message = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    client_key = fields.String(load_default=None, allow_none=True,
                               validate=validate.Length(min=3, max=64),
                               metadata={"description": "The sender's pseudonymous key."})
    identity = fields.Nested(PersonIdentitySchema, load_default=None, allow_none=True)
    consent = fields.Nested(ReferralConsentSchema, load_default=None, allow_none=True)
    legal_basis = fields.Nested(LegalBasisSchema, load_default=None, allow_none=True)


class DeclineSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=1000))


class CloseSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(domain.OUTCOMES))


class EmptySchema(Schema):
    pass


class ReferralQuerySchema(Schema):
    box = fields.String(load_default="all", validate=validate.OneOf(("inbox", "outbox", "all")))
    status = fields.String(validate=validate.OneOf(domain.STATUSES))
    reason = fields.String(validate=validate.OneOf(domain.REASONS))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = Offset()


class PartnerServiceUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=2, max=200))
    accepts = fields.List(fields.String(validate=validate.OneOf(domain.REASONS)),
                          validate=validate.Length(max=len(domain.REASONS)))
    address = fields.String(validate=validate.Length(min=3, max=300))
    phone = fields.String(allow_none=True, validate=validate.Regexp(r"^\+?[0-9 ./()-]{6,30}$"))
    email = fields.Email(allow_none=True)
    schedule = fields.String(allow_none=True, validate=validate.Length(max=200))
    active = fields.Boolean()


class AuditQuerySchema(Schema):
    referral_id = RecordId()
    user = fields.String(validate=validate.Length(max=100))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = Offset()


# -- outputs ----------------------------------------------------------------------------------

class PartnerServiceSchema(Schema):
    code = fields.String()
    organisation = fields.String()
    organisation_name = fields.String()
    name = fields.String()
    accepts = fields.List(fields.String())
    address = fields.String()
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    schedule = fields.String(allow_none=True)
    active = fields.Boolean()


class ReferralSchema(Schema):
    id = fields.Integer()
    sender_org = fields.String()
    receiver_org = fields.String()
    receiver_service = fields.String()
    subject = fields.String()
    reason = fields.String()
    urgency = fields.String()
    status = fields.String()
    outcome = fields.String(allow_none=True)
    successful = fields.Boolean()
    sent_at = fields.DateTime()
    answered_at = fields.DateTime(allow_none=True)
    contact_made_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    basis = fields.String(metadata={"description": "consent, a legal basis, or none "
                                                   "(situation)"})
    redacted = fields.Boolean()
    content = fields.Dict(allow_none=True, metadata={
        "description": "Message, client key, identity, consent, decline reason: only for the "
                       "sending and receiving organisations; every read is logged."})


class ReferralPageSchema(Schema):
    items = fields.List(fields.Nested(ReferralSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class AccessLogEntrySchema(Schema):
    referral_id = fields.Integer(allow_none=True)
    user = fields.String()
    role = fields.String()
    organisation = fields.String()
    action = fields.String()
    purpose = fields.String()
    granted = fields.Boolean()
    at = fields.DateTime()
