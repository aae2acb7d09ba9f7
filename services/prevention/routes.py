"""The prevention service's REST resources, served by the gateway (shared.http.api): forward the
request with the caller's identity; the service decides what the caller may do and see."""
from services.prevention import schemas
from shared.http import api, query_args, read_json
from shared.rpc import ServiceClient

TAG = "prevention"


class StreetWorkRoutes:
    prevention = ServiceClient("prevention")

    @api("POST", "/api/v1/street-work/outings",
         summary="Log an outing: neighbourhood, contacts, new people, themes (no identity)",
         tag=TAG, request=schemas.LogOutingSchema, response=schemas.TallySchema, status=201)
    def log_outing(self, request, identity):
        return self.prevention.log_outing(read_json(request))

    @api("PUT", "/api/v1/street-work/assignment",
         summary="The neighbourhood the calling street worker is assigned to", tag=TAG,
         request=schemas.StreetWorkAssignmentSchema, response=schemas.StreetWorkAssignmentSchema)
    def assign_neighbourhood(self, request, identity):
        return self.prevention.assign_neighbourhood(read_json(request))

    @api("GET", "/api/v1/street-work/outings", summary="Own organisation's outings (logged)",
         tag=TAG, query=schemas.PreventionListQuerySchema, response=schemas.TallyPageSchema)
    def list_outings(self, request, identity):
        return self.prevention.list_outings(query_args(request))

    @api("POST", "/api/v1/street-work/accompaniments",
         summary="Open an accompaniment under a random pseudonymous key", tag=TAG,
         request=schemas.OpenAccompanimentSchema, response=schemas.AccompanimentSchema,
         status=201)
    def open_accompaniment(self, request, identity):
        return self.prevention.open_accompaniment(read_json(request))

    @api("GET", "/api/v1/street-work/accompaniments",
         summary="Own organisation's accompaniments (logged)", tag=TAG,
         query=schemas.PreventionListQuerySchema, response=schemas.AccompanimentPageSchema)
    def list_accompaniments(self, request, identity):
        return self.prevention.list_accompaniments(query_args(request))

    @api("GET", "/api/v1/street-work/accompaniments/<int:number>",
         summary="One accompaniment with its notes and history (logged)", tag=TAG,
         response=schemas.AccompanimentSchema)
    def get_accompaniment(self, request, identity, number):
        return self.prevention.get_accompaniment(number)

    @api("POST", "/api/v1/street-work/accompaniments/<int:number>/steps",
         summary="A step reached (first contact, trust, oriented, structuring activity)",
         tag=TAG, request=schemas.AccompanimentStepSchema, response=schemas.AccompanimentSchema)
    def reach_step(self, request, identity, number):
        return self.prevention.reach_step(number, read_json(request))

    @api("POST", "/api/v1/street-work/accompaniments/<int:number>/close",
         summary="Close with an outcome", tag=TAG, request=schemas.CloseAccompanimentSchema,
         response=schemas.AccompanimentSchema)
    def close_accompaniment(self, request, identity, number):
        return self.prevention.close_accompaniment(number, read_json(request))

    @api("POST", "/api/v1/street-work/concertations",
         summary="Record a concertation meeting (case concertation: art. 458ter)", tag=TAG,
         request=schemas.ConcertationSchema, response=schemas.ConcertationViewSchema,
         status=201)
    def record_concertation(self, request, identity):
        return self.prevention.record_concertation(read_json(request))

    @api("GET", "/api/v1/street-work/concertations",
         summary="Concertations the caller's organisation took part in", tag=TAG,
         query=schemas.PreventionListQuerySchema, response=schemas.ConcertationPageSchema)
    def list_concertations(self, request, identity):
        return self.prevention.list_concertations(query_args(request))

    @api("GET", "/api/v1/street-work/concertations/<int:number>",
         summary="One concertation with its decisions (participants only, logged)", tag=TAG,
         response=schemas.ConcertationViewSchema)
    def get_concertation(self, request, identity, number):
        return self.prevention.get_concertation(number)

    @api("POST", "/api/v1/street-work/policy-notes",
         summary="File a note on local social-policy priorities", tag=TAG,
         request=schemas.PolicyNoteSchema, response=schemas.PolicyNoteViewSchema, status=201)
    def file_policy_note(self, request, identity):
        return self.prevention.file_policy_note(read_json(request))

    @api("GET", "/api/v1/street-work/policy-notes",
         summary="Policy notes (own organisation's; the coordinator all)", tag=TAG,
         query=schemas.PreventionListQuerySchema, response=schemas.PolicyNotePageSchema)
    def list_policy_notes(self, request, identity):
        return self.prevention.list_policy_notes(query_args(request))

    @api("GET", "/api/v1/street-work/figures",
         summary="Aggregated monthly figures (own organisation; the coordinator all)",
         tag=TAG, query=schemas.PreventionFiguresQuerySchema,
         response=schemas.PreventionFiguresSchema)
    def figures(self, request, identity):
        return self.prevention.figures(query_args(request))

    @api("GET", "/api/v1/street-work/access-log",
         summary="Access log of prevention records (auditor)", tag=TAG,
         query=schemas.PreventionAccessLogQuerySchema, response=schemas.AccessLogPageSchema)
    def access_log(self, request, identity):
        return self.prevention.access_log(query_args(request))


class MediationRoutes:
    prevention = ServiceClient("prevention")

    @api("POST", "/api/v1/mediation/cases",
         summary="Open a neighbour mediation case (parties under random keys)", tag=TAG,
         request=schemas.OpenMediationSchema, response=schemas.MediationCaseSchema,
         status=201)
    def open_mediation(self, request, identity):
        return self.prevention.open_mediation(read_json(request))

    @api("GET", "/api/v1/mediation/cases", summary="The mediation service's cases (logged)",
         tag=TAG, query=schemas.PreventionListQuerySchema, response=schemas.MediationCasePageSchema)
    def list_mediations(self, request, identity):
        return self.prevention.list_mediations(query_args(request))

    @api("GET", "/api/v1/mediation/cases/<int:number>",
         summary="One mediation case (the mediation service only, logged)", tag=TAG,
         response=schemas.MediationCaseSchema)
    def get_mediation(self, request, identity, number):
        return self.prevention.get_mediation(number)

    @api("POST", "/api/v1/mediation/cases/<int:number>/sessions",
         summary="Record a mediation session", tag=TAG,
         request=schemas.MediationSessionSchema, response=schemas.MediationCaseSchema)
    def add_mediation_session(self, request, identity, number):
        return self.prevention.add_mediation_session(number, read_json(request))

    @api("POST", "/api/v1/mediation/cases/<int:number>/close",
         summary="Close with an outcome", tag=TAG, request=schemas.CloseMediationSchema,
         response=schemas.MediationCaseSchema)
    def close_mediation(self, request, identity, number):
        return self.prevention.close_mediation(number, read_json(request))


class TechnopreventionRoutes:
    prevention = ServiceClient("prevention")

    @api("POST", "/api/v1/technoprevention/visits",
         summary="Book a home-security visit (desk or adviser)", tag=TAG,
         request=schemas.BookVisitSchema, response=schemas.VisitViewSchema, status=201)
    def book_visit(self, request, identity):
        return self.prevention.book_visit(read_json(request))

    @api("GET", "/api/v1/technoprevention/visits", summary="The advisers' visits (logged)",
         tag=TAG, query=schemas.PreventionListQuerySchema, response=schemas.VisitPageSchema)
    def list_visits(self, request, identity):
        return self.prevention.list_visits(query_args(request))

    @api("GET", "/api/v1/technoprevention/visits/<int:number>",
         summary="One visit with address and report (advisers only, logged)", tag=TAG,
         response=schemas.VisitViewSchema)
    def get_visit(self, request, identity, number):
        return self.prevention.get_visit(number)

    @api("POST", "/api/v1/technoprevention/visits/<int:number>/report",
         summary="The visit took place: recommendations, premium eligibility", tag=TAG,
         request=schemas.VisitReportSchema, response=schemas.VisitViewSchema)
    def report_visit(self, request, identity, number):
        return self.prevention.report_visit(number, read_json(request))

    @api("POST", "/api/v1/technoprevention/visits/<int:number>/cancel",
         summary="Cancel a booked visit", tag=TAG, request=schemas.CancelVisitSchema,
         response=schemas.VisitViewSchema)
    def cancel_visit(self, request, identity, number):
        return self.prevention.cancel_visit(number, read_json(request))


RESOURCES = (StreetWorkRoutes, MediationRoutes, TechnopreventionRoutes)
