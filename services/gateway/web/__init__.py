"""The web application, served by the gateway on the API's port: one module and one template
folder per area (desk, coordinator, crew, partners, auditor, API page), each a class of `@page`
entrypoints mixed into the gateway. A new area (wardens, street workers, the indicator
dashboard) is one module, its templates and one line in PAGES."""
from services.gateway.web import apidocs, auditor, base, coordinator, crew, desk, partners, photos

PAGES: tuple[type, ...] = (
    base.WebBase,
    desk.DeskPages,
    coordinator.CoordinatorPages,
    crew.CrewPages,
    partners.PartnerPages,
    auditor.AuditorPages,
    apidocs.ApiDocsPages,
)
SETTINGS = (base.TILE_URL, base.TILE_ATTRIBUTION, photos.MAX_PHOTO_BYTES_SETTING)
