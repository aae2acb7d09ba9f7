"""The HTTP gateway: REST API under /api/v1/, token authentication, OpenAPI, ops endpoints.

Entrypoints only: each authenticates (via `@api`), forwards to a service over RPC with the
caller's signed identity in the context data, and returns JSON. Services check permissions
themselves; the gateway never decides what a role may see."""
import logging
from datetime import timedelta

from nameko.timer import timer
from werkzeug.wrappers import Response

from services.gateway import auth
from services.gateway.api import api, query_args, read_json
from services.gateway.models import metadata
from services.gateway.openapi import build_spec
from services.gateway.schemas import MeSchema, RevokedSchema, TokenRequestSchema, TokenSchema
from services.incidents import schemas as incident_schemas
from services.referrals import schemas as ref_schemas
from services.tags import schemas as tag_schemas
from shared import config
from shared.clock import Clock
from shared.db import Database
from shared.errors import NotFound, validated
from shared.identity import CallerIdentity
from shared.metrics import EntrypointMetrics
from shared.ops import OpsEndpoints
from shared.rpc import ServiceClient
from shared.web import http

log = logging.getLogger(__name__)

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 100},
    "description": "Makes a retry safe: a report repeated with the same key (and the same body) "
                   "returns the incident the first one created; the same key with another body "
                   "is refused (422, `idempotency_key_reused`). Keys are the caller's own.",
}

HOME_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Antenne LISA</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto">
<h1>Antenne LISA</h1>
<p>Plateforme de l'antenne de sécurité intégrée locale. Les pages par utilisateur arrivent ;
l'API REST est disponible dès maintenant.</p>
<ul>
<li><a href="/api/v1/openapi.json">API REST (OpenAPI 3)</a> &mdash;
obtenir un jeton&nbsp;: <code>POST /api/v1/auth/token</code></li>
<li><a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>,
<a href="/metrics">/metrics</a></li>
</ul>
</body></html>
"""


class GatewayService(OpsEndpoints):
    name = "gateway"

    db = Database(metadata)
    caller = CallerIdentity()
    clock = Clock()
    metrics = EntrypointMetrics()
    incidents = ServiceClient("incidents")
    tags = ServiceClient("tags")
    referrals = ServiceClient("referrals")

    def authenticate(self, request):
        with self.db.session() as session:
            return auth.authenticate(session, request.headers.get("Authorization"),
                                     self.clock())

    # -- auth ---------------------------------------------------------------------------------
    @api("POST", "/api/v1/auth/token", summary="Exchange username and password for a token",
         tag="auth", request=TokenRequestSchema, response=TokenSchema, public=True)
    def issue_token(self, request, identity):
        data = validated(TokenRequestSchema(), read_json(request))
        token = auth.issue_token(self.db, data["username"], data["password"],
                                 request.remote_addr or "", self.clock())
        return TokenSchema().dump(token)

    @api("POST", "/api/v1/auth/revoke", summary="Revoke the token of this request", tag="auth",
         response=RevokedSchema)
    def revoke_token(self, request, identity):
        with self.db.session() as session:
            auth.revoke(session, request.headers["Authorization"], self.clock())
        return {"revoked": True}

    @api("GET", "/api/v1/me", summary="Who the token belongs to", tag="auth",
         response=MeSchema)
    def me(self, request, identity):
        return MeSchema().dump({"user": identity.user, "role": identity.role,
                                "organisation": identity.organisation,
                                "antennas": list(identity.antennas)})

    # -- categories and incidents -------------------------------------------------------------
    @api("GET", "/api/v1/categories", summary="Incident categories (two levels)",
         tag="incidents", response=incident_schemas.CategorySchema, many=True)
    def list_categories(self, request, identity):
        return self.incidents.list_categories()

    @api("POST", "/api/v1/incidents", summary="Report an incident; returns its ticket number",
         tag="incidents", request=incident_schemas.ReportIncidentSchema,
         response=incident_schemas.ReportResultSchema, status=201, headers=[IDEMPOTENCY_KEY])
    def report_incident(self, request, identity):
        return self.incidents.report(read_json(request),
                                     request_key=request.headers.get("Idempotency-Key"))

    @api("GET", "/api/v1/incidents", summary="List incidents (filters, paging)", tag="incidents",
         query=incident_schemas.IncidentQuerySchema,
         response=incident_schemas.IncidentPageSchema)
    def list_incidents(self, request, identity):
        return self.incidents.list(query_args(request))

    @api("POST", "/api/v1/incidents/duplicate-hints",
         summary="Open incidents that may be the same problem", tag="incidents",
         request=incident_schemas.DuplicateHintsQuerySchema,
         response=incident_schemas.DuplicateHintSchema, many=True)
    def duplicate_hints(self, request, identity):
        return self.incidents.duplicate_hints(read_json(request))

    @api("GET", "/api/v1/incidents/<key>", summary="One incident by id or ticket number",
         tag="incidents", response=incident_schemas.IncidentSchema)
    def get_incident(self, request, identity, key):
        if len(key) > 40:
            raise NotFound("No such incident.")
        return self.incidents.get(key)

    @api("POST", "/api/v1/incidents/<int:incident_id>/triage",
         summary="Triage: confirm or change category and responsible partner",
         tag="incidents", request=incident_schemas.TriageSchema,
         response=incident_schemas.IncidentSchema)
    def triage_incident(self, request, identity, incident_id):
        return self.incidents.triage(incident_id, read_json(request))

    @api("POST", "/api/v1/incidents/<int:incident_id>/status",
         summary="Change the status (state machine enforced)", tag="incidents",
         request=incident_schemas.StatusChangeSchema, response=incident_schemas.IncidentSchema)
    def change_incident_status(self, request, identity, incident_id):
        return self.incidents.change_status(incident_id, read_json(request))

    @api("GET", "/api/v1/incidents/<int:incident_id>/contact-access",
         summary="Who read the citizen's contact of an incident (auditor)", tag="incidents",
         query=incident_schemas.ContactAccessQuerySchema,
         response=incident_schemas.ContactAccessPageSchema)
    def contact_access_log(self, request, identity, incident_id):
        return self.incidents.contact_access_log(incident_id, query_args(request))

    # -- graffiti removal jobs -------------------------------------------------------------------
    @api("GET", "/api/v1/tag-jobs", summary="Removal jobs (filters, paging, open m2)",
         tag="tag-jobs", query=tag_schemas.JobQuerySchema, response=tag_schemas.JobPageSchema)
    def list_tag_jobs(self, request, identity):
        return self.tags.list_jobs(query_args(request))

    @api("POST", "/api/v1/tag-jobs", summary="Create a removal job directly (crew, coordinator)",
         tag="tag-jobs", request=tag_schemas.CreateJobSchema, response=tag_schemas.JobSchema,
         status=201)
    def create_tag_job(self, request, identity):
        return self.tags.create_job(read_json(request))

    @api("GET", "/api/v1/tag-jobs/<int:job_id>", summary="One removal job with its history",
         tag="tag-jobs", response=tag_schemas.JobSchema)
    def get_tag_job(self, request, identity, job_id):
        return self.tags.get_job(job_id)

    @api("POST", "/api/v1/tag-jobs/<int:job_id>/assess",
         summary="Record the crew's assessment (surface, area, height, ownership, content)",
         tag="tag-jobs", request=tag_schemas.AssessJobSchema, response=tag_schemas.JobSchema)
    def assess_tag_job(self, request, identity, job_id):
        return self.tags.assess(job_id, read_json(request))

    @api("POST", "/api/v1/tag-jobs/<int:job_id>/consent",
         summary="Record the owner's signed waiver (private property)", tag="tag-jobs",
         request=tag_schemas.OwnerConsentSchema, response=tag_schemas.JobSchema)
    def consent_tag_job(self, request, identity, job_id):
        return self.tags.record_consent(job_id, read_json(request))

    @api("POST", "/api/v1/tag-jobs/<int:job_id>/schedule", summary="Schedule for a day",
         tag="tag-jobs", request=tag_schemas.ScheduleSchema, response=tag_schemas.JobSchema)
    def schedule_tag_job(self, request, identity, job_id):
        return self.tags.schedule(job_id, read_json(request))

    @api("POST", "/api/v1/tag-jobs/<int:job_id>/complete",
         summary="Record the removal: m2, method, minutes, crew", tag="tag-jobs",
         request=tag_schemas.CompleteSchema, response=tag_schemas.JobSchema)
    def complete_tag_job(self, request, identity, job_id):
        return self.tags.complete(job_id, read_json(request))

    @api("POST", "/api/v1/tag-jobs/<int:job_id>/cancel", summary="Cancel with a reason",
         tag="tag-jobs", request=tag_schemas.CancelSchema, response=tag_schemas.JobSchema)
    def cancel_tag_job(self, request, identity, job_id):
        return self.tags.cancel(job_id, read_json(request))

    @api("GET", "/api/v1/tag-plan", summary="The crew's plan for a day, and what was left out",
         tag="tag-jobs", query=tag_schemas.PlanQuerySchema, response=tag_schemas.PlanSchema)
    def tag_plan(self, request, identity):
        return self.tags.plan(query_args(request))

    @api("GET", "/api/v1/tag-jobs/<int:job_id>/contact-access",
         summary="Who read the owner's contact on a job's consent record (auditor)",
         tag="tag-jobs", query=tag_schemas.OwnerContactAccessQuerySchema,
         response=tag_schemas.OwnerContactAccessPageSchema)
    def tag_job_contact_access(self, request, identity, job_id):
        return self.tags.contact_access_log(job_id, query_args(request))

    # -- the graffiti crew ------------------------------------------------------------------------
    @api("GET", "/api/v1/tag-crew", summary="The crew: members and their coming absences",
         tag="tag-crew", response=tag_schemas.CrewMemberSchema, many=True)
    def list_tag_crew(self, request, identity):
        return self.tags.list_crew()

    @api("POST", "/api/v1/tag-crew", summary="Add a member to the crew (coordinator)",
         tag="tag-crew", request=tag_schemas.NewCrewMemberSchema,
         response=tag_schemas.CrewMemberSchema, status=201)
    def add_tag_crew_member(self, request, identity):
        return self.tags.add_crew_member(read_json(request))

    @api("POST", "/api/v1/tag-crew/<int:member_id>/deactivate",
         summary="A member leaves the crew (coordinator)", tag="tag-crew",
         request=tag_schemas.DeactivateSchema, response=tag_schemas.CrewMemberSchema)
    def deactivate_tag_crew_member(self, request, identity, member_id):
        return self.tags.deactivate_crew_member(member_id, read_json(request))

    @api("POST", "/api/v1/tag-crew/<int:member_id>/absences",
         summary="Record days a member is away (coordinator)", tag="tag-crew",
         request=tag_schemas.AbsenceSchema, response=tag_schemas.CrewMemberSchema, status=201)
    def record_tag_crew_absence(self, request, identity, member_id):
        return self.tags.record_absence(member_id, read_json(request))

    # -- referrals, partners, audit -------------------------------------------------------------
    @api("GET", "/api/v1/partners", summary="Partners directory (HSDS services)",
         tag="referrals", response=ref_schemas.PartnerServiceSchema, many=True)
    def list_partners(self, request, identity):
        return self.referrals.list_partners()

    @api("PATCH", "/api/v1/partners/<code>", summary="Change a partner service (admin)",
         tag="referrals", request=ref_schemas.PartnerServiceUpdateSchema,
         response=ref_schemas.PartnerServiceSchema)
    def update_partner(self, request, identity, code):
        return self.referrals.update_partner_service(code, read_json(request))

    @api("GET", "/api/v1/referrals", summary="Referrals: inbox, outbox or all (metadata)",
         tag="referrals", query=ref_schemas.ReferralQuerySchema,
         response=ref_schemas.ReferralPageSchema)
    def list_referrals(self, request, identity):
        return self.referrals.list(query_args(request))

    @api("POST", "/api/v1/referrals", summary="Send a referral (orientation)", tag="referrals",
         request=ref_schemas.SendReferralSchema, response=ref_schemas.ReferralSchema, status=201)
    def send_referral(self, request, identity):
        return self.referrals.send(read_json(request))

    @api("GET", "/api/v1/referrals/<int:referral_id>",
         summary="One referral; content only for the two organisations (logged)",
         tag="referrals", response=ref_schemas.ReferralSchema)
    def get_referral(self, request, identity, referral_id):
        return self.referrals.get(referral_id)

    @api("POST", "/api/v1/referrals/<int:referral_id>/accept", summary="Accept (receiver)",
         tag="referrals", request=ref_schemas.EmptySchema, response=ref_schemas.ReferralSchema)
    def accept_referral(self, request, identity, referral_id):
        return self.referrals.accept(referral_id, read_json(request))

    @api("POST", "/api/v1/referrals/<int:referral_id>/decline",
         summary="Decline with a reason (receiver)", tag="referrals",
         request=ref_schemas.DeclineSchema, response=ref_schemas.ReferralSchema)
    def decline_referral(self, request, identity, referral_id):
        return self.referrals.decline(referral_id, read_json(request))

    @api("POST", "/api/v1/referrals/<int:referral_id>/contact-made",
         summary="A first contact took place (receiver)", tag="referrals",
         request=ref_schemas.EmptySchema, response=ref_schemas.ReferralSchema)
    def referral_contact_made(self, request, identity, referral_id):
        return self.referrals.contact_made(referral_id, read_json(request))

    @api("POST", "/api/v1/referrals/<int:referral_id>/close",
         summary="Close with an outcome (receiver; the sender may withdraw)",
         tag="referrals", request=ref_schemas.CloseSchema, response=ref_schemas.ReferralSchema)
    def close_referral(self, request, identity, referral_id):
        return self.referrals.close(referral_id, read_json(request))

    @api("POST", "/api/v1/referrals/<int:referral_id>/withdraw-consent",
         summary="The person withdrew consent: personal content is erased", tag="referrals",
         request=ref_schemas.EmptySchema, response=ref_schemas.ReferralSchema)
    def withdraw_referral_consent(self, request, identity, referral_id):
        return self.referrals.withdraw_consent(referral_id, read_json(request))

    @api("GET", "/api/v1/audit", summary="Access log of referral content (auditor)",
         tag="referrals", query=ref_schemas.AuditQuerySchema,
         response=ref_schemas.AccessLogPageSchema)
    def audit_log(self, request, identity):
        return self.referrals.audit(query_args(request))

    # -- documents ------------------------------------------------------------------------------
    @api("GET", "/api/v1/openapi.json", summary="This API's OpenAPI 3 document", tag="meta",
         public=True)
    def openapi(self, request, identity):
        return build_spec()

    @http("GET", "/")
    def home(self, request):
        return Response(HOME_PAGE, mimetype="text/html")

    # -- housekeeping ---------------------------------------------------------------------------
    @timer(interval=3600)
    def prune_tokens(self):
        with self.db.session() as session:
            pruned = auth.prune(session, self.clock(),
                                timedelta(days=config.token_retention_days()))
        if any(pruned.values()):
            log.info("pruned %(tokens)d API tokens and %(login_failures)d failed logins",
                     pruned)
