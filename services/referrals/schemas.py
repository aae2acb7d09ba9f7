"""marshmallow schemas of the referrals service's RPC payloads (and its part of the REST API)."""
from marshmallow import Schema, fields, validate

from services.referrals import domain
from shared.fields import RecordId
from shared.paging import Limit, PageQuerySchema, page_schema


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


class ReferralQuerySchema(PageQuerySchema):
    box = fields.String(load_default="all", validate=validate.OneOf(("inbox", "outbox", "all")))
    status = fields.String(validate=validate.OneOf(domain.STATUSES))
    reason = fields.String(validate=validate.OneOf(domain.REASONS))


class PartnerServiceUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=2, max=200))
    accepts = fields.List(fields.String(validate=validate.OneOf(domain.REASONS)),
                          validate=validate.Length(max=len(domain.REASONS)))
    address = fields.String(validate=validate.Length(min=3, max=300))
    phone = fields.String(allow_none=True, validate=validate.Regexp(r"^\+?[0-9 ./()-]{6,30}$"))
    email = fields.Email(allow_none=True)
    schedule = fields.String(allow_none=True, validate=validate.Length(max=200))
    active = fields.Boolean()


class AuditQuerySchema(PageQuerySchema):
    referral_id = RecordId()
    user = fields.String(validate=validate.Length(max=100))
    limit = Limit(100, 1000)


# -- outputs ----------------------------------------------------------------------------------
# Every field an answer always carries is `required`, nested values have their own schema.

class PartnerServiceSchema(Schema):
    code = fields.String(required=True)
    organisation = fields.String(required=True)
    organisation_name = fields.String(required=True)
    name = fields.String(required=True)
    accepts = fields.List(fields.String(validate=validate.OneOf(domain.REASONS)), required=True)
    address = fields.String(required=True)
    phone = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)
    schedule = fields.String(required=True, allow_none=True)
    active = fields.Boolean(required=True)


class PersonIdentityViewSchema(Schema):
    name = fields.String(required=True)
    phone = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)


class ReferralConsentViewSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(domain.CONSENT_KINDS))
    given_at = fields.DateTime(required=True, allow_none=True)
    expires_at = fields.DateTime(required=True, allow_none=True)
    withdrawn_at = fields.DateTime(required=True, allow_none=True)


class ReferralContentSchema(Schema):
    message = fields.String(required=True, allow_none=True)
    client_key = fields.String(required=True, allow_none=True)
    identity = fields.Nested(PersonIdentityViewSchema, required=True, allow_none=True)
    legal_reference = fields.String(required=True, allow_none=True)
    decline_reason = fields.String(required=True, allow_none=True)
    consent = fields.Nested(ReferralConsentViewSchema, required=True, allow_none=True)


class ReferralHistoryEntrySchema(Schema):
    from_status = fields.String(required=True, allow_none=True)
    to_status = fields.String(required=True, validate=validate.OneOf(domain.STATUSES))
    actor = fields.String(required=True)
    actor_role = fields.String(required=True)
    actor_organisation = fields.String(required=True)
    at = fields.DateTime(required=True)
    note = fields.String(required=True, allow_none=True)


class ReferralSchema(Schema):
    id = fields.Integer(required=True)
    sender_org = fields.String(required=True)
    receiver_org = fields.String(required=True)
    receiver_service = fields.String(required=True)
    subject = fields.String(required=True, validate=validate.OneOf(domain.SUBJECTS))
    reason = fields.String(required=True, validate=validate.OneOf(domain.REASONS))
    urgency = fields.String(required=True, validate=validate.OneOf(domain.URGENCIES))
    status = fields.String(required=True, validate=validate.OneOf(domain.STATUSES))
    outcome = fields.String(required=True, allow_none=True)
    successful = fields.Boolean(required=True)
    sent_at = fields.DateTime(required=True)
    answered_at = fields.DateTime(required=True, allow_none=True)
    contact_made_at = fields.DateTime(required=True, allow_none=True)
    closed_at = fields.DateTime(required=True, allow_none=True)
    basis = fields.String(required=True, metadata={"description": "consent, a legal basis, or "
                                                                  "none (situation)"})
    redacted = fields.Boolean(required=True)
    content = fields.Nested(ReferralContentSchema, required=True, allow_none=True, metadata={
        "description": "Message, client key, identity, consent, decline reason: only for the "
                       "sending and receiving organisations; every read is logged."})
    history = fields.List(fields.Nested(ReferralHistoryEntrySchema), metadata={
        "description": "In the view of one referral, for whoever reads its metadata: every "
                       "status change, who, when, why (never content)."})


ReferralPageSchema = page_schema("ReferralPageSchema", ReferralSchema)


class AccessLogEntrySchema(Schema):
    referral_id = fields.Integer(required=True, allow_none=True)
    user = fields.String(required=True)
    role = fields.String(required=True)
    organisation = fields.String(required=True)
    action = fields.String(required=True)
    purpose = fields.String(required=True)
    granted = fields.Boolean(required=True)
    at = fields.DateTime(required=True)


AccessLogPageSchema = page_schema("AccessLogPageSchema", AccessLogEntrySchema)
