"""The referrals service's REST resources, served by the gateway (shared.http.api): forward the
request with the caller's identity; the service decides what the caller may do and see."""
from services.referrals import schemas
from shared.http import api, query_args, read_json
from shared.rpc import ServiceClient


class PartnerRoutes:
    referrals = ServiceClient("referrals")

    @api("GET", "/api/v1/partners", summary="Partners directory (HSDS services)",
         tag="referrals", response=schemas.PartnerServiceSchema, many=True)
    def list_partners(self, request, identity):
        return self.referrals.list_partners()

    @api("PATCH", "/api/v1/partners/<code>", summary="Change a partner service (admin)",
         tag="referrals", request=schemas.PartnerServiceUpdateSchema,
         response=schemas.PartnerServiceSchema)
    def update_partner(self, request, identity, code):
        return self.referrals.update_partner_service(code, read_json(request))


class ReferralRoutes:
    referrals = ServiceClient("referrals")

    @api("GET", "/api/v1/referrals", summary="Referrals: inbox, outbox or all (metadata)",
         tag="referrals", query=schemas.ReferralQuerySchema, response=schemas.ReferralPageSchema)
    def list_referrals(self, request, identity):
        return self.referrals.list(query_args(request))

    @api("POST", "/api/v1/referrals", summary="Send a referral (orientation)", tag="referrals",
         request=schemas.SendReferralSchema, response=schemas.ReferralSchema, status=201)
    def send_referral(self, request, identity):
        return self.referrals.send(read_json(request))

    @api("GET", "/api/v1/referrals/<int:referral_id>",
         summary="One referral; content only for the two organisations (logged)",
         tag="referrals", response=schemas.ReferralSchema)
    def get_referral(self, request, identity, referral_id):
        return self.referrals.get(referral_id)

    @api("POST", "/api/v1/referrals/<int:referral_id>/accept", summary="Accept (receiver)",
         tag="referrals", request=schemas.EmptySchema, response=schemas.ReferralSchema)
    def accept_referral(self, request, identity, referral_id):
        return self.referrals.accept(referral_id, read_json(request))

    @api("POST", "/api/v1/referrals/<int:referral_id>/decline",
         summary="Decline with a reason (receiver)", tag="referrals",
         request=schemas.DeclineSchema, response=schemas.ReferralSchema)
    def decline_referral(self, request, identity, referral_id):
        return self.referrals.decline(referral_id, read_json(request))

    @api("POST", "/api/v1/referrals/<int:referral_id>/contact-made",
         summary="A first contact took place (receiver)", tag="referrals",
         request=schemas.EmptySchema, response=schemas.ReferralSchema)
    def referral_contact_made(self, request, identity, referral_id):
        return self.referrals.contact_made(referral_id, read_json(request))

    @api("POST", "/api/v1/referrals/<int:referral_id>/close",
         summary="Close with an outcome (receiver; the sender may withdraw)",
         tag="referrals", request=schemas.CloseSchema, response=schemas.ReferralSchema)
    def close_referral(self, request, identity, referral_id):
        return self.referrals.close(referral_id, read_json(request))

    @api("POST", "/api/v1/referrals/<int:referral_id>/withdraw-consent",
         summary="The person withdrew consent: personal content is erased", tag="referrals",
         request=schemas.EmptySchema, response=schemas.ReferralSchema)
    def withdraw_referral_consent(self, request, identity, referral_id):
        return self.referrals.withdraw_consent(referral_id, read_json(request))


class AuditRoutes:
    referrals = ServiceClient("referrals")

    @api("GET", "/api/v1/audit", summary="Access log of referral content (auditor)",
         tag="referrals", query=schemas.AuditQuerySchema,
         response=schemas.AccessLogPageSchema)
    def audit_log(self, request, identity):
        return self.referrals.audit(query_args(request))


RESOURCES = (PartnerRoutes, ReferralRoutes, AuditRoutes)
