"""The API page: the OpenAPI document (/api/v1/openapi.json) rendered by ReDoc, vendored."""
from services.gateway.web.base import area, page
from shared.identity import ROLES

AREA = area("api", "API", "/api-docs", set(ROLES))


class ApiDocsPages:
    @page("GET", "/api-docs", public=True)
    def api_docs(self, request, ctx):
        response = ctx.render("api.html")
        # ReDoc styles itself inline and renders in a web worker.
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data: https:; style-src 'self' "
            "'unsafe-inline'; script-src 'self'; worker-src 'self' blob:; "
            "frame-ancestors 'none'; base-uri 'self'")
        return response
