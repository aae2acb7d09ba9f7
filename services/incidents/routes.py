"""The incidents service's REST resources, served by the gateway (shared.http.api): forward the
request with the caller's identity; the service decides what the caller may do and see."""
from services.incidents import schemas
from shared.errors import NotFound
from shared.http import api, query_args, read_json
from shared.rpc import ServiceClient

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 100},
    "description": "Makes a retry safe: a report repeated with the same key (and the same body) "
                   "returns the incident the first one created; the same key with another body "
                   "is refused (422, `idempotency_key_reused`). Keys are the caller's own.",
}


class CategoryRoutes:
    incidents = ServiceClient("incidents")

    @api("GET", "/api/v1/categories", summary="Incident categories (two levels)",
         tag="incidents", response=schemas.CategorySchema, many=True)
    def list_categories(self, request, identity):
        return self.incidents.list_categories()


class IncidentRoutes:
    incidents = ServiceClient("incidents")

    @api("POST", "/api/v1/incidents", summary="Report an incident; returns its ticket number",
         tag="incidents", request=schemas.ReportIncidentSchema,
         response=schemas.ReportResultSchema, status=201, headers=[IDEMPOTENCY_KEY])
    def report_incident(self, request, identity):
        return self.incidents.report(read_json(request),
                                     request_key=request.headers.get("Idempotency-Key"))

    @api("GET", "/api/v1/incidents", summary="List incidents (filters, paging)", tag="incidents",
         query=schemas.IncidentQuerySchema, response=schemas.IncidentPageSchema)
    def list_incidents(self, request, identity):
        return self.incidents.list(query_args(request))

    @api("POST", "/api/v1/incidents/duplicate-hints",
         summary="Open incidents that may be the same problem", tag="incidents",
         request=schemas.DuplicateHintsQuerySchema, response=schemas.DuplicateHintSchema,
         many=True)
    def duplicate_hints(self, request, identity):
        return self.incidents.duplicate_hints(read_json(request))

    @api("GET", "/api/v1/incidents/<key>", summary="One incident by id or ticket number",
         tag="incidents", response=schemas.IncidentSchema)
    def get_incident(self, request, identity, key):
        if len(key) > 40:
            raise NotFound("No such incident.")
        return self.incidents.get(key)

    @api("POST", "/api/v1/incidents/<int:incident_id>/triage",
         summary="Triage: confirm or change category and responsible partner",
         tag="incidents", request=schemas.TriageSchema, response=schemas.IncidentSchema)
    def triage_incident(self, request, identity, incident_id):
        return self.incidents.triage(incident_id, read_json(request))

    @api("POST", "/api/v1/incidents/<int:incident_id>/status",
         summary="Change the status (state machine enforced)", tag="incidents",
         request=schemas.StatusChangeSchema, response=schemas.IncidentSchema)
    def change_incident_status(self, request, identity, incident_id):
        return self.incidents.change_status(incident_id, read_json(request))

    @api("GET", "/api/v1/incidents/<int:incident_id>/contact-access",
         summary="Who read the citizen's contact of an incident (auditor)", tag="incidents",
         query=schemas.ContactAccessQuerySchema, response=schemas.ContactAccessPageSchema)
    def contact_access_log(self, request, identity, incident_id):
        return self.incidents.contact_access_log(incident_id, query_args(request))


RESOURCES = (CategoryRoutes, IncidentRoutes)
