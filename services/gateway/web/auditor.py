"""The auditor: the access log of referral content, with filters (user, referral). The referrals
service's `audit` RPC, as GET /api/v1/audit calls it; the service decides who may read it."""
from services.gateway.web.base import area, field_errors, page
from shared.errors import ValidationFailed
from shared.rpc import ServiceClient

AREA = area("audit", "Audit log", "/audit", {"auditor", "admin"})
PAGE_SIZE = 50


class AuditorPages:
    web_referrals = ServiceClient("referrals")

    @page("GET", "/audit", roles=AREA.roles)
    def audit(self, request, ctx):
        filters = {key: request.args.get(key, "").strip()[:100]
                   for key in ("user", "referral_id")}
        try:
            offset = max(0, int(request.args.get("offset", "0") or 0))
        except ValueError:
            offset = 0
        query = {key: value for key, value in filters.items() if value}
        errors = {}
        try:
            log = self.web_referrals.audit({**query, "limit": PAGE_SIZE, "offset": offset})
        except ValidationFailed as exc:
            errors = field_errors(exc, ctx.language)
            log = {"items": [], "total": 0, "limit": PAGE_SIZE, "offset": 0}
        return ctx.render("auditor/log.html", status=422 if errors else 200, log=log,
                          filters=filters, errors=errors, page_size=PAGE_SIZE)
