"""nameko entrypoints of the referrals service. Every RPC: who is calling, may they do this at
all and see this referral (before the body is read; refusals logged), validate, use case,
serialise. Every permission is checked in use_cases, here in the service, not only in the
gateway."""
import logging

from nameko.timer import timer

from services.referrals import schemas, use_cases, views
from services.referrals.models import metadata
from shared.config import Setting
from shared.db import Database
from shared.dependencies import CallerIdentity, Clock, EntrypointMetrics
from shared.errors import validated
from shared.ops import ops_service
from shared.rpc import rpc

log = logging.getLogger(__name__)

REMINDER_DAYS = Setting("LISA_REFERRAL_REMINDER_DAYS", "3",
                        "working days before an unanswered referral's sender is reminded")
EXPIRY_DAYS = Setting("LISA_REFERRAL_EXPIRY_DAYS", "10",
                      "working days after which an unanswered referral expires")
PURGE_DAYS = Setting("LISA_REFERRAL_PURGE_DAYS", "180",
                     "days after closure when a referral's personal content is erased")

REFERRAL = schemas.ReferralSchema()
PAGE = schemas.ReferralPageSchema()
PARTNERS = schemas.PartnerServiceSchema(many=True)
PARTNER = schemas.PartnerServiceSchema()
AUDIT = schemas.AccessLogPageSchema()
SEND = schemas.SendReferralSchema()
DECLINE = schemas.DeclineSchema()
CLOSE = schemas.CloseSchema()
EMPTY = schemas.EmptySchema()
QUERY = schemas.ReferralQuerySchema()
AUDIT_QUERY = schemas.AuditQuerySchema()
PARTNER_UPDATE = schemas.PartnerServiceUpdateSchema()


class ReferralsService:
    name = "referrals"

    db = Database(metadata, relay=True, gauges=views.gauges)  # read at each scrape
    caller = CallerIdentity()
    clock = Clock()
    metrics = EntrypointMetrics()

    @rpc
    def list_partners(self):
        self.caller.current  # noqa: B018  (verifies the signed caller: deny by default)
        with self.db.session() as session:
            return PARTNERS.dump(views.list_partners(session))

    @rpc
    def update_partner_service(self, code, payload):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            use_cases.partner_service_to_change(uow.session, identity, code)
            data = validated(PARTNER_UPDATE, payload)
            return PARTNER.dump(use_cases.update_partner_service(uow, identity, code, data))

    @rpc
    def send(self, payload):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            use_cases.authorise_send(uow, identity, self.clock())
            data = validated(SEND, payload)
            return REFERRAL.dump(use_cases.send(uow, identity, data, self.clock()))

    @rpc
    def list(self, query):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            views.authorise_list(uow, identity, self.clock())
            data = validated(QUERY, query)
            return PAGE.dump(views.list_referrals(uow, identity, data, self.clock()))

    @rpc
    def get(self, referral_id):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            return REFERRAL.dump(views.referral_by_id_with_content_logged(
                uow, identity, referral_id, self.clock()))

    def _act(self, action, command, schema, referral_id, payload):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            use_cases.referral_to_act_on(uow, identity, referral_id, action, self.clock())
            data = validated(schema, payload)
            return REFERRAL.dump(command(uow, identity, referral_id, data, self.clock()))

    @rpc
    def accept(self, referral_id, payload):
        return self._act("accept", use_cases.accept, EMPTY, referral_id, payload)

    @rpc
    def decline(self, referral_id, payload):
        return self._act("decline", use_cases.decline, DECLINE, referral_id, payload)

    @rpc
    def contact_made(self, referral_id, payload):
        return self._act("contact_made", use_cases.contact_made, EMPTY, referral_id, payload)

    @rpc
    def close(self, referral_id, payload):
        return self._act("close", use_cases.close, CLOSE, referral_id, payload)

    @rpc
    def withdraw_consent(self, referral_id, payload):
        return self._act("withdraw_consent", use_cases.withdraw_consent, EMPTY, referral_id,
                         payload)

    @rpc
    def audit(self, query):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            views.authorise_audit(uow, identity, self.clock())
            data = validated(AUDIT_QUERY, query)
            return AUDIT.dump(views.audit_page(uow, identity, data, self.clock()))

    @timer(interval=3600)
    def remind_expire_and_purge(self):
        now = self.clock()
        with self.db.unit_of_work() as uow:
            counts = use_cases.remind_and_expire(uow, now,
                                                 REMINDER_DAYS.integer(),
                                                 EXPIRY_DAYS.integer())
        with self.db.unit_of_work() as uow:
            counts["purged"] = use_cases.purge(uow, now, PURGE_DAYS.integer())
        if any(counts.values()):
            log.info("referrals: %s", counts)


ReferralsOps = ops_service("referrals", metadata)
