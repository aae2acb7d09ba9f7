"""The antenna desk: log a walk-in request (category search, address, map pin, duplicate hints
before saving, optional contact with the consent boxes), the printable ticket, today's requests
and search by ticket. Every action is the incidents service's RPC, as the REST API calls it."""
import uuid
from datetime import UTC, datetime

from services.gateway.web.base import (
    PageContext,
    area,
    blank_to_none,
    field_errors,
    form_of,
    number_or_text,
    page,
)
from shared.errors import NotFound, ValidationFailed
from shared.rpc import ServiceClient

AREA = area("desk", "Desk", "/desk", {"desk", "coordinator"})
REPORTERS = AREA.roles


def category_options(categories: list[dict], language: str) -> list[dict]:
    """Sub-categories, each with its parent's label, sorted in the user's language."""
    labels = {c["code"]: c["labels"].get(language) or c["labels"]["en"] for c in categories}
    options = [{"code": c["code"], "label": labels[c["code"]],
                "parent": labels.get(c["parent_code"], "")}
               for c in categories if c["parent_code"]]
    return sorted(options, key=lambda o: (o["parent"].lower(), o["label"].lower()))


def report_payload(form: dict) -> dict:
    reporter = {
        "name": blank_to_none(form.get("reporter.name")),
        "phone": blank_to_none(form.get("reporter.phone")),
        "email": blank_to_none(form.get("reporter.email")),
        "may_contact": form.get("reporter.may_contact") == "yes",
        "share_with_police": form.get("reporter.share_with_police") == "yes",
    }
    has_contact = any(reporter[key] for key in ("name", "phone", "email"))
    return {
        "category": form.get("category", ""),
        "description": form.get("description", ""),
        "channel": "desk",
        "location": {"address": form.get("location.address", ""),
                     "lat": number_or_text(form.get("location.lat")),
                     "lon": number_or_text(form.get("location.lon"))},
        "reporter": reporter if has_contact else None,
    }


class DeskPages:
    web_incidents = ServiceClient("incidents")

    def _report_form(self, ctx: PageContext, values: dict, errors: dict, status: int = 200,
                     hints=()):
        categories = category_options(self.web_incidents.list_categories(), ctx.language)
        return ctx.render("desk/report.html", status=status, categories=categories,
                          values=values, errors=errors, hints=hints)

    @page("GET", "/desk", roles=REPORTERS)
    def desk(self, request, ctx):
        return self._report_form(ctx, {"request_key": uuid.uuid4().hex}, {})

    @page("POST", "/desk", roles=REPORTERS)
    def desk_report(self, request, ctx):
        form = form_of(request)
        key = (form.get("request_key") or "")[:100] or None
        try:
            result = self.web_incidents.report(report_payload(form), request_key=key)
        except ValidationFailed as exc:
            return self._report_form(ctx, form, field_errors(exc, ctx.language), status=422)
        return ctx.redirect(f"/desk/tickets/{result['incident']['ticket']}")

    @page("POST", "/desk/hints", roles=REPORTERS)
    def desk_hints(self, request, ctx):
        """The duplicate hints for what is typed so far (htmx partial)."""
        form = form_of(request)
        payload = report_payload(form)
        hints = []
        if payload["category"] and len(payload["location"]["address"].strip()) >= 3:
            try:
                hints = self.web_incidents.duplicate_hints(
                    {"category": payload["category"], "location": payload["location"]})
            except ValidationFailed:
                hints = []
        return ctx.render("desk/_hints.html", hints=hints)

    @page("GET", "/desk/tickets/<ticket>", roles=REPORTERS)
    def desk_ticket(self, request, ctx, ticket):
        if len(ticket) > 40:
            raise NotFound("No such incident.")
        incident = self.web_incidents.get(ticket)
        categories = {c["code"]: c for c in self.web_incidents.list_categories()}
        category = categories.get(incident["category"], {})
        return ctx.render("desk/ticket.html", incident=incident, category=category,
                          category_label=(category.get("labels") or {}).get(ctx.language,
                                                                            incident["category"]))

    @page("GET", "/desk/today", roles=REPORTERS)
    def desk_today(self, request, ctx):
        today = datetime.now(UTC).date().isoformat()
        page_of = self.web_incidents.list({"limit": 200})
        mine = [i for i in page_of["items"] if str(i["reported_at"]).startswith(today)]
        return ctx.render("desk/today.html", incidents=mine)

    @page("GET", "/desk/search", roles=REPORTERS)
    def desk_search(self, request, ctx):
        ticket = (request.args.get("ticket") or "").strip().upper()
        if not ticket:
            return ctx.render("desk/search.html", ticket="", error=None)
        if len(ticket) > 40:
            return ctx.render("desk/search.html", status=404, ticket=ticket[:40],
                              error=ctx._("No such incident."))
        try:
            incident = self.web_incidents.get(ticket)
        except NotFound:
            return ctx.render("desk/search.html", status=404, ticket=ticket,
                              error=ctx._("No such incident."))
        return ctx.redirect(f"/desk/tickets/{incident['ticket']}")
