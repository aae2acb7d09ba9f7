"""The coordinator (prevention officer): the triage queue, the overdue list, one incident with
re-routing (triage to another partner) and closing. The incidents service's RPC, as the API."""
from services.gateway.web.base import (
    PageContext,
    area,
    blank_to_none,
    field_errors,
    form_of,
    page,
    schema_choices,
)
from shared import reference
from shared.errors import Conflict, ValidationFailed
from shared.rpc import ServiceClient

AREA = area("coordinator", "Triage", "/coordinator", {"coordinator"})
STATUS_PATH = "/api/v1/incidents/<int:incident_id>/status"


def partner_options(language: str) -> list[dict]:
    return sorted(({"code": p["code"], "label": p.get(language) or p["en"]}
                   for p in reference.partners()), key=lambda p: p["label"].lower())


class CoordinatorPages:
    web_incidents = ServiceClient("incidents")

    @page("GET", "/coordinator", roles=AREA.roles)
    def triage_queue(self, request, ctx):
        queue = self.web_incidents.list({"status": "new", "limit": 100})
        reopened = self.web_incidents.list({"status": "reopened", "limit": 100})
        return ctx.render("coordinator/queue.html", title=ctx._("Triage queue"),
                          incidents=queue["items"] + reopened["items"],
                          total=queue["total"] + reopened["total"])

    @page("GET", "/coordinator/overdue", roles=AREA.roles)
    def overdue(self, request, ctx):
        late = self.web_incidents.list({"overdue": True, "limit": 200})
        return ctx.render("coordinator/queue.html", title=ctx._("Overdue"),
                          incidents=late["items"], total=late["total"])

    def _incident_page(self, ctx: PageContext, incident_id: int, status: int = 200,
                       errors=None, values=None, failure=None):
        incident = self.web_incidents.get(str(incident_id))
        categories = self.web_incidents.list_categories()
        labels = {c["code"]: c["labels"].get(ctx.language) or c["labels"]["en"]
                  for c in categories}
        options = sorted(({"code": c["code"], "label": labels[c["code"]],
                           "parent": labels.get(c["parent_code"], "")}
                          for c in categories if c["parent_code"]),
                         key=lambda o: (o["parent"].lower(), o["label"].lower()))
        statuses = [s for s in schema_choices(type(self), "POST", STATUS_PATH, "status")
                    if s != "new"]
        return ctx.render("coordinator/incident.html", status=status, incident=incident,
                          categories=options, category_label=labels.get(incident["category"]),
                          partners=partner_options(ctx.language), statuses=statuses,
                          errors=errors or {}, values=values or {}, failure=failure)

    @page("GET", "/coordinator/incidents/<int:incident_id>", roles=AREA.roles)
    def coordinator_incident(self, request, ctx, incident_id):
        return self._incident_page(ctx, incident_id)

    @page("POST", "/coordinator/incidents/<int:incident_id>/triage", roles=AREA.roles)
    def coordinator_triage(self, request, ctx, incident_id):
        form = form_of(request)
        payload = {key: value for key, value in (
            ("category", blank_to_none(form.get("category"))),
            ("partner", blank_to_none(form.get("partner"))),
            ("note", blank_to_none(form.get("note")))) if value is not None}
        try:
            self.web_incidents.triage(incident_id, payload)
        except ValidationFailed as exc:
            return self._incident_page(ctx, incident_id, 422, field_errors(exc, ctx.language),
                                       form)
        except Conflict as exc:
            return self._incident_page(ctx, incident_id, 409, values=form,
                                       failure=ctx._(exc.message))
        return ctx.redirect(f"/coordinator/incidents/{incident_id}")

    @page("POST", "/coordinator/incidents/<int:incident_id>/status", roles=AREA.roles)
    def coordinator_status(self, request, ctx, incident_id):
        form = form_of(request)
        payload = {"status": form.get("status", "")}
        if blank_to_none(form.get("note")):
            payload["note"] = form["note"].strip()
        try:
            self.web_incidents.change_status(incident_id, payload)
        except ValidationFailed as exc:
            return self._incident_page(ctx, incident_id, 422, field_errors(exc, ctx.language),
                                       form)
        except Conflict as exc:
            return self._incident_page(ctx, incident_id, 409, values=form,
                                       failure=ctx._(exc.message))
        return ctx.redirect(f"/coordinator/incidents/{incident_id}")
