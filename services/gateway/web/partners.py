"""Partners: the referral inbox and outbox, sending a referral with the consent step, and acting
on one (accept, decline, first contact, close). The referrals service's RPC, as the API calls
it: it decides who sees content and who may act, and logs every read of content."""
from datetime import UTC, datetime

from services.gateway.web.base import (
    PageContext,
    area,
    blank_to_none,
    field_errors,
    form_of,
    page,
    schema_choices,
)
from shared.errors import BadRequest, Conflict, Forbidden, ValidationFailed
from shared.rpc import ServiceClient

AREA = area("partners", "Referrals", "/referrals",
            {"desk", "street_worker", "mediator", "police", "coordinator", "warden"})
SEND_PATH = "/api/v1/referrals"
CLOSE_PATH = "/api/v1/referrals/<int:referral_id>/close"
ACTIONS = ("accept", "decline", "contact-made", "close")


def send_payload(form: dict) -> dict:
    payload: dict = {"receiver_service": form.get("receiver_service", ""),
                     "subject": form.get("subject", ""), "reason": form.get("reason", ""),
                     "urgency": form.get("urgency") or "normal",
                     "message": form.get("message", "")}
    if form.get("subject") == "person":
        name = blank_to_none(form.get("identity.name"))
        if name is not None:
            payload["identity"] = {"name": name,
                                   "phone": blank_to_none(form.get("identity.phone")),
                                   "email": blank_to_none(form.get("identity.email"))}
        if form.get("consent.given") == "yes":
            payload["consent"] = {"kind": form.get("consent.kind") or "verbal",
                                  "given_at": datetime.now(UTC).isoformat()}
    return payload


class PartnerPages:
    web_referrals = ServiceClient("referrals")

    @page("GET", "/referrals", roles=AREA.roles)
    def referral_boxes(self, request, ctx):
        box = request.args.get("box", "inbox")
        if box not in ("inbox", "outbox", "all"):
            box = "inbox"
        referrals = self.web_referrals.list({"box": box, "limit": 100})
        return ctx.render("partners/boxes.html", box=box, referrals=referrals)

    def _send_form(self, ctx: PageContext, values: dict, errors: dict, status: int = 200,
                   failure=None):
        cls = type(self)
        partners = [p for p in self.web_referrals.list_partners() if p["active"]]
        return ctx.render(
            "partners/send.html", status=status, values=values, errors=errors, failure=failure,
            partners=sorted(partners, key=lambda p: p["name"].lower()),
            subjects=schema_choices(cls, "POST", SEND_PATH, "subject"),
            reasons=schema_choices(cls, "POST", SEND_PATH, "reason"),
            urgencies=schema_choices(cls, "POST", SEND_PATH, "urgency"),
            consent_kinds=schema_choices(cls, "POST", SEND_PATH, "consent.kind"))

    @page("GET", "/referrals/new", roles=AREA.roles)
    def referral_new(self, request, ctx):
        return self._send_form(ctx, {"urgency": "normal", "subject": "situation"}, {})

    @page("POST", "/referrals/new", roles=AREA.roles)
    def referral_send(self, request, ctx):
        form = form_of(request)
        if form.get("subject") == "person" and form.get("consent.given") != "yes":
            return self._send_form(ctx, form, {"consent.given": [ctx._(
                "A referral of a person needs the person's consent.")]}, 422)
        try:
            sent = self.web_referrals.send(send_payload(form))
        except ValidationFailed as exc:
            return self._send_form(ctx, form, field_errors(exc, ctx.language), 422,
                                   failure=ctx._(exc.message))
        except Forbidden as exc:
            return self._send_form(ctx, form, {}, 403, failure=ctx._(exc.message))
        return ctx.redirect(f"/referrals/{sent['id']}")

    def _referral_page(self, ctx, referral_id, status=200, errors=None, values=None,
                       failure=None):
        referral = self.web_referrals.get(referral_id)
        return ctx.render("partners/referral.html", status=status, referral=referral,
                          outcomes=schema_choices(type(self), "POST", CLOSE_PATH, "outcome"),
                          errors=errors or {}, values=values or {}, failure=failure)

    @page("GET", "/referrals/<int:referral_id>", roles=AREA.roles)
    def referral_detail(self, request, ctx, referral_id):
        return self._referral_page(ctx, referral_id)

    @page("POST", "/referrals/<int:referral_id>/<action>", roles=AREA.roles)
    def referral_act(self, request, ctx, referral_id, action):
        if action not in ACTIONS:
            raise BadRequest("Unknown action.")
        form = form_of(request)
        calls = {
            "accept": lambda: self.web_referrals.accept(referral_id, {}),
            "decline": lambda: self.web_referrals.decline(referral_id,
                                                          {"reason": form.get("reason", "")}),
            "contact-made": lambda: self.web_referrals.contact_made(referral_id, {}),
            "close": lambda: self.web_referrals.close(referral_id,
                                                      {"outcome": form.get("outcome", "")}),
        }
        try:
            calls[action]()
        except ValidationFailed as exc:
            return self._referral_page(ctx, referral_id, 422, field_errors(exc, ctx.language),
                                       form, failure=ctx._(exc.message))
        except (Conflict, Forbidden) as exc:
            return self._referral_page(ctx, referral_id, exc.status, values=form,
                                       failure=ctx._(exc.message))
        return ctx.redirect(f"/referrals/{referral_id}")
