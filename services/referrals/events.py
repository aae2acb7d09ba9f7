"""The events the referrals service publishes, and their payloads."""
from marshmallow import fields

from shared.events import PayloadSchema


class ReferralFacts(PayloadSchema):
    """Ids, organisations, reason, urgency, status and time: never the message, the client key
    or any identity."""
    referral_id = fields.Integer(required=True)
    sender_org = fields.String(required=True)
    receiver_org = fields.String(required=True)
    receiver_service = fields.String(required=True)
    subject = fields.String(required=True)
    reason = fields.String(required=True)
    urgency = fields.String(required=True)
    status = fields.String(required=True)
    at = fields.AwareDateTime(required=True)


class ReferralClosed(ReferralFacts):
    outcome = fields.String(allow_none=True, load_default=None)
    successful = fields.Boolean(required=True)


# event type -> (current schema version, payload schema)
PUBLISHES = {
    "referral_sent": (1, ReferralFacts),
    "referral_accepted": (1, ReferralFacts),
    "referral_declined": (1, ReferralFacts),
    "referral_contact_made": (1, ReferralFacts),
    "referral_closed": (1, ReferralClosed),
}
