"""The journeys of the browser tests, run in a process of their own (tests/browser/
test_journeys.py starts one per journey and viewport): the test suite's process runs under
eventlet's monkey patching (tests/conftest.py), where Playwright's sync API waits forever.

    python -m tests.browser.journeys BASE_URL JOURNEY VIEWPORT

Each page visited is checked with axe-core (no serious or critical violation of WCAG 2.1 A/AA)
and saved as a screenshot under var/screenshots/. Exit status 0 when the journey passed."""
import io
import re
import sys
import traceback
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
VIEWPORTS = {"tablet": {"width": 1024, "height": 768}, "phone": {"width": 390, "height": 844}}
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]


def check(page, step: str, full_page: bool = True) -> None:
    """The page as it is now: no serious or critical axe-core violation of WCAG 2.1 A/AA, and
    a screenshot saved as an artefact."""
    page.wait_for_function("document.readyState === 'complete'")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.lisa_shots += 1
    page.screenshot(path=str(SCREENSHOTS / f"{page.lisa_name}-{page.lisa_shots:02d}-{step}.png"),
                    full_page=full_page)
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    assert not bad, f"axe-core on {step} ({page.url}): {bad}"


def log_in(page, username: str, password: str = "demo") -> None:
    page.goto("/login")
    check(page, "login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form.card button[type=submit]")
    wait_path(page, r"^/(?!login)")


def wait_path(page, pattern: str) -> None:
    """Wait until the page's path matches `pattern` (a JavaScript regular expression). Checked
    in the browser: Playwright's own URL waits match in Python, and hang under the eventlet
    hub nameko's pytest plugin installs."""
    page.wait_for_function("pattern => new RegExp(pattern).test(location.pathname)",
                           arg=pattern)


def photo_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 90), (30, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


def journey_desk_logs_a_walk_in_request_and_prints_the_ticket(page):
    log_in(page, "desk")
    check(page, "home")
    page.click("a[href='/desk']")
    check(page, "desk-form")
    page.fill("#category-search", "graffiti")
    page.select_option("#category", "graffiti_public")
    page.fill("#location-address", "Rue de la Tulipe 20, 1050 Ixelles")
    page.click("#report-map", position={"x": 60, "y": 60})   # the pin, with no tiles
    assert re.match(r"^50\.\d+$", page.input_value("#location-lat"))
    page.wait_for_selector("#hints li, #hints p")          # the hints came (htmx)
    page.fill("#description", "Tags sur la façade de l'école.")
    page.fill("#reporter-name", "M. Dupont")
    page.check("#reporter-may_contact")
    page.fill("#reporter-phone", "pas un numéro")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector(".field-error")
    assert page.input_value("#reporter-name") == "M. Dupont"  # what was typed is kept
    assert "Le format n'est pas valide." in page.inner_text("#reporter-phone-error")
    check(page, "desk-errors")
    page.fill("#reporter-phone", "+32 2 515 00 00")
    page.click("#report-form button[type=submit]")
    wait_path(page, r"^/desk/tickets/LISA-\d{4}-\d{6}$")
    ticket = page.inner_text(".ticket-number")
    page.emulate_media(media="print")
    assert not page.is_visible("header.top")          # the print stylesheet
    page.emulate_media(media="screen")
    check(page, "ticket")
    page.goto("/desk/today")
    assert ticket in page.inner_text("main")
    check(page, "today")
    page.goto("/desk/search")
    page.fill("#ticket", ticket.lower())
    page.press("#ticket", "Enter")
    wait_path(page, f"^/desk/tickets/{ticket}$")
    page.goto("/coordinator")
    assert "403" in page.title() or "Accès refusé" in page.inner_text("h1")
    check(page, "forbidden")


def journey_coordinator_triages_reroutes_and_closes(page):
    log_in(page, "coordinator")
    page.goto("/coordinator")
    check(page, "triage-queue")
    page.click("main table a >> nth=0")
    wait_path(page, r"^/coordinator/incidents/\d+$")
    check(page, "incident")
    page.select_option("#partner", "social_mediation")
    page.fill("#note", "Réorienté vers la médiation")
    page.click("form[action$='/triage'] button[type=submit]")
    page.wait_for_selector("text=social_mediation")
    page.select_option("#status", "cancelled")
    page.click("form[action$='/status'] button[type=submit]")
    page.wait_for_selector("dd:has-text('annulé')")
    page.goto("/coordinator/overdue")
    check(page, "overdue")


def journey_crew_plan_job_photo_and_refusals(page):
    log_in(page, "tags")
    page.goto("/crew")
    check(page, "plan")
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "lisa_session")
    jobs = [job for status in ("scheduled", "ready")
            for job in page.request.get(f"/api/v1/tag-jobs?status={status}&limit=5", headers={
                "Authorization": f"Bearer {token}"}).json()["items"]]
    assert jobs, "the demo has open removal jobs"
    page.goto(f"/crew/jobs/{jobs[0]['id']}")
    check(page, "job")
    page.set_input_files("#photo", files=[{"name": "notes.txt", "mimeType": "image/jpeg",
                                           "buffer": b"not a photo"}])
    page.click("form[action$='/photos'] button[type=submit]")
    page.wait_for_selector("#photo-error")
    assert "pas une photo" in page.inner_text("#photo-error")
    check(page, "photo-refused")
    page.set_input_files("#photo", files=[{"name": "before.jpg", "mimeType": "image/jpeg",
                                           "buffer": photo_bytes()}])
    page.click("form[action$='/photos'] button[type=submit]")
    page.wait_for_selector(".photos img")
    page.wait_for_function("document.querySelector('.photos img').naturalWidth === 120")
    page.fill("#removed_m2", "beaucoup")
    page.fill("#minutes_spent", "30")
    page.click("form[action$='/complete'] button[type=submit]")
    page.wait_for_selector("#removed_m2-error")
    assert page.input_value("#removed_m2") == "beaucoup"
    check(page, "complete-refused")


def journey_partner_sends_a_referral_with_consent_and_reads_the_boxes(page):
    log_in(page, "streetworker")
    page.goto("/referrals")
    check(page, "inbox")
    page.goto("/referrals?box=outbox")
    check(page, "outbox")
    page.goto("/referrals/new")
    check(page, "send-form")
    page.check("input[name=subject][value=person]")
    page.select_option("#reason", "addiction")
    page.fill("#message", "Jeune demande un accompagnement discret.")
    page.fill("#identity-name", "Yanis B.")
    page.click("form.card button[type=submit]")
    page.wait_for_selector("#consent-given-error")
    assert page.input_value("#identity-name") == "Yanis B."
    check(page, "send-needs-consent")


def journey_auditor_filters_the_audit_log(page):
    log_in(page, "auditor")
    page.goto("/audit")
    check(page, "audit")
    page.fill("#referral_id", "abc")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_selector("#referral_id-error")
    check(page, "audit-error")


def journey_api_page_renders_the_openapi_document(page):
    log_in(page, "desk")
    page.goto("/api-docs")
    page.wait_for_selector("#redoc h1, #redoc [role=navigation], #redoc .api-content",
                           timeout=60_000)
    check(page, "api", full_page=False)   # ReDoc's page is too long to capture whole


def journey_keyboard_only_login_and_language_switch(page):
    page.goto("/login")
    page.keyboard.press("Tab")                       # the skip link comes first
    assert page.evaluate("document.activeElement.className") == "skip"
    page.focus("#username")
    page.keyboard.type("desk")
    page.keyboard.press("Tab")
    page.keyboard.type("demo")
    page.keyboard.press("Enter")
    wait_path(page, r"^/(?!login)")
    page.focus("#language-choice")
    page.keyboard.press("ArrowDown")                 # fr -> nl
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_function("document.documentElement.lang === 'nl'")
    assert "Afmelden" in page.inner_text("header")
    check(page, "home-nl")


JOURNEYS = {name[len("journey_"):]: fn for name, fn in dict(globals()).items()
            if name.startswith("journey_") and callable(fn)}


def run(base_url: str, journey: str, viewport: str, chromium: str = CHROMIUM) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        try:
            # The CSP is bypassed only so the test can inject axe-core.
            context = browser.new_context(viewport=VIEWPORTS[viewport], bypass_csp=True,
                                          base_url=base_url, locale="fr-BE")
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.lisa_name = f"{journey}-{viewport}"
            page.lisa_shots = 0
            JOURNEYS[journey](page)
        finally:
            browser.close()


def main(argv: list[str]) -> int:
    base_url, journey, viewport = argv[:3]
    try:
        run(base_url, journey, viewport, *argv[3:4])
    except Exception:  # noqa: BLE001  (the parent test shows it)
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
