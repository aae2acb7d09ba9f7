"""The web pages through HTTP on a running embedded platform, without a browser: session login
(cookie flags, the API's throttle), CSRF refused when missing or forged, a role refused a page
(403 page), languages (default French, Accept-Language, the switch), forms that keep what was
typed and show field errors in the user's language, the desk's ticket, triage, a crew job with
photo upload (EXIF stripped, non-images and oversize refused) and completion, a referral sent
with the consent step, the audit log. Every action goes through the same RPC as the API."""
import io
import itertools
import re
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.conftest import running_platform
from tests.service.test_gateway_embedded import GRAFFITI
from tests.service.test_tags_embedded import DIRECT, TODAY, with_crew

ADDRESSES = itertools.count(1)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One platform for the module, behind one trusted proxy: each test's browser comes from
    an address of its own, so the login throttle test closes only its own window."""
    with running_platform(tmp_path_factory.mktemp("web"),
                          env={"LISA_TRUSTED_PROXY_HOPS": "1"}) as api:
        yield api


def csrf_of(html: str) -> str:
    return CSRF.search(html).group(1)


def browser(site, language: str | None = None) -> requests.Session:
    session = requests.Session()
    session.headers["X-Forwarded-For"] = f"192.0.2.{next(ADDRESSES)}"
    if language:
        session.headers["Accept-Language"] = language
    return session


def logged_in(site, user: str, language: str | None = None) -> requests.Session:
    session = browser(site, language)
    form = session.get(site.url("/login"))
    answer = session.post(site.url("/login"), data={
        "username": user, "password": "demo", "csrf_token": csrf_of(form.text), "next": "/"},
        allow_redirects=False)
    assert answer.status_code == 303, answer.text
    return session


def test_login_sets_a_safe_session_cookie_and_logout_revokes_it(site):
    session = browser(site)
    form = session.get(site.url("/login"))
    assert form.status_code == 200 and '<html lang="fr">' in form.text  # French by default
    answer = session.post(site.url("/login"), data={
        "username": "desk", "password": "demo", "csrf_token": csrf_of(form.text),
        "next": "https://evil.example/"}, allow_redirects=False)
    assert answer.status_code == 303 and answer.headers["Location"] == "/"  # no open redirect
    cookie = answer.headers["Set-Cookie"]
    assert "lisa_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http here; Secure when served over https
    home = session.get(site.url("/"))
    assert home.status_code == 200 and 'href="/desk"' in home.text
    assert 'href="/coordinator"' not in home.text  # navigation per role
    token = session.cookies["lisa_session"]
    assert site.session.get(site.url("/api/v1/me"), headers={
        "Authorization": f"Bearer {token}"}).status_code == 200
    out = session.post(site.url("/logout"), data={"csrf_token": csrf_of(home.text)},
                       allow_redirects=False)
    assert out.status_code == 303 and out.headers["Location"] == "/login"
    assert site.session.get(site.url("/api/v1/me"), headers={
        "Authorization": f"Bearer {token}"}).status_code == 401  # the session is revoked
    assert session.get(site.url("/desk"), allow_redirects=False).headers["Location"] \
        == "/login?next=/desk"


def test_wrong_password_is_refused_in_the_users_language_and_throttled(site):
    session = browser(site, "nl-BE,nl;q=0.9")
    form = session.get(site.url("/login"))
    assert '<html lang="nl">' in form.text and "Aanmelden" in form.text
    for _ in range(5):
        answer = session.post(site.url("/login"), data={
            "username": "police", "password": "wrong", "csrf_token": csrf_of(form.text)})
        assert answer.status_code == 401
        assert "Verkeerde gebruikersnaam of wachtwoord." in answer.text
        assert 'value="police"' in answer.text  # what was typed is kept (not the password)
    throttled = session.post(site.url("/login"), data={
        "username": "police", "password": "demo", "csrf_token": csrf_of(form.text)})
    assert throttled.status_code == 429 and "Retry-After" in throttled.headers
    assert "Te veel mislukte aanmeldingen" in throttled.text


@pytest.mark.parametrize("token", [None, "forged", "0" * 64])
def test_a_form_without_its_csrf_token_is_refused(site, token):
    session = logged_in(site, "desk")
    data = {**({"csrf_token": token} if token is not None else {}),
            "category": "graffiti_public", "description": "x", "location.address": "Rue X 1"}
    before = site.call("GET", "/api/v1/incidents?limit=1", "coordinator").json()["total"]
    answer = session.post(site.url("/desk"), data=data, allow_redirects=False)
    assert answer.status_code == 403 and "text/html" in answer.headers["Content-Type"]
    assert "formulaire a expiré" in answer.text
    assert site.call("GET", "/api/v1/incidents?limit=1", "coordinator").json()["total"] \
        == before  # nothing was saved
    login = browser(site).post(site.url("/login"), data={"username": "desk",
                                                          "password": "demo"})
    assert login.status_code == 403  # the login form has its token too


def test_a_page_not_for_the_role_is_a_403_page(site):
    session = logged_in(site, "desk", "en")
    for path in ("/coordinator", "/audit", "/crew"):
        answer = session.get(site.url(path))
        assert answer.status_code == 403, path
        assert "Not allowed" in answer.text and "This page is not for your role." in answer.text


def test_language_switch_and_accept_language(site):
    session = logged_in(site, "desk", "en-GB,en;q=0.8")
    page = session.get(site.url("/desk"))
    assert '<html lang="en">' in page.text and "New walk-in request" in page.text
    switched = session.post(site.url("/language"), data={
        "language": "nl", "next": "/desk", "csrf_token": csrf_of(page.text)},
        allow_redirects=False)
    assert switched.status_code == 303 and switched.headers["Location"] == "/desk"
    assert "Nieuwe melding aan het loket" in session.get(site.url("/desk")).text
    assert session.post(site.url("/language"), data={
        "language": "de", "csrf_token": csrf_of(page.text)}).status_code == 400


def test_desk_bad_input_keeps_what_was_typed_then_the_ticket(site):
    session = logged_in(site, "desk")
    form = session.get(site.url("/desk"))
    typed = {"csrf_token": csrf_of(form.text), "request_key": "web-test-1",
             "category": "graffiti_public", "description": "Tags sur la vitrine",
             "location.address": "Rue de la Tulipe 3", "location.lat": "52.9",
             "location.lon": "4.37", "reporter.name": "Mme Peeters",
             "reporter.phone": "not a phone", "reporter.may_contact": "yes"}
    refused = session.post(site.url("/desk"), data=typed)
    assert refused.status_code == 422
    assert "La latitude est hors de Belgique." in refused.text
    assert "Le format n&#39;est pas valide." in refused.text  # the phone, next to its field
    assert 'value="Mme Peeters"' in refused.text and "Tags sur la vitrine" in refused.text
    assert re.search(r'<option value="graffiti_public" selected', refused.text)
    saved = session.post(site.url("/desk"), data={**typed, "location.lat": "50.8338",
                                                  "reporter.phone": "+32 2 511 22 33"},
                         allow_redirects=False)
    assert saved.status_code == 303 and saved.headers["Location"].startswith("/desk/tickets/")
    ticket = session.get(site.url(saved.headers["Location"]))
    assert ticket.status_code == 200 and "La suite" in ticket.text
    number = saved.headers["Location"].rsplit("/", 1)[1]
    again = session.post(site.url("/desk"), data={**typed, "location.lat": "50.8338",
                                                  "reporter.phone": "+32 2 511 22 33"},
                         allow_redirects=False)
    assert again.headers["Location"].endswith(number)  # a double submit is one request
    found = session.get(site.url(f"/desk/search?ticket={number.lower()}"),
                        allow_redirects=False)
    assert found.status_code == 303 and found.headers["Location"].endswith(number)
    assert number in session.get(site.url("/desk/today")).text
    hints = session.post(site.url("/desk/hints"), data={**typed, "location.lat": "50.8338"},
                         headers={"HX-Request": "true"})
    assert hints.status_code == 200 and number in hints.text  # the duplicate, before saving


def test_coordinator_reroutes_and_closes(site):
    incident = site.call("POST", "/api/v1/incidents", "desk",
                         json={**GRAFFITI, "category": "noise", "reporter": None}).json()
    incident_id = incident["incident"]["id"]
    session = logged_in(site, "coordinator")
    queue = session.get(site.url("/coordinator"))
    assert f'/coordinator/incidents/{incident_id}"' in queue.text
    page = session.get(site.url(f"/coordinator/incidents/{incident_id}"))
    token = csrf_of(page.text)
    bad = session.post(site.url(f"/coordinator/incidents/{incident_id}/triage"),
                       data={"csrf_token": token, "category": "nothing"})
    assert bad.status_code == 422 and 'id="category-error"' in bad.text
    assert "Unknown category" in bad.text
    routed = session.post(site.url(f"/coordinator/incidents/{incident_id}/triage"),
                          data={"csrf_token": token, "partner": "social_mediation",
                                "note": "Médiation"}, allow_redirects=False)
    assert routed.status_code == 303
    assert site.call("GET", f"/api/v1/incidents/{incident_id}", "coordinator").json()[
        "partner"] == "social_mediation"
    refused = session.post(site.url(f"/coordinator/incidents/{incident_id}/status"),
                           data={"csrf_token": token, "status": "closed"})
    assert refused.status_code == 409  # triaged cannot be closed directly: said on the page
    for status in ("resolved", "closed"):
        assert session.post(site.url(f"/coordinator/incidents/{incident_id}/status"),
                            data={"csrf_token": token, "status": status},
                            allow_redirects=False).status_code == 303
    assert site.call("GET", f"/api/v1/incidents/{incident_id}", "coordinator").json()[
        "status"] == "closed"


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"                        # Make
    exif[0x8825] = {1: "N", 2: (50.0, 50.0, 1.0)}      # GPSInfo
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    assert b"PhoneMaker" in out.getvalue()
    return out.getvalue()


def test_crew_photo_upload_strips_exif_refuses_bad_files_and_marks_done(site, tmp_path):
    job = site.call("POST", "/api/v1/tag-jobs", "coordinator", json=DIRECT).json()
    session = logged_in(site, "tags")
    page = session.get(site.url(f"/crew/jobs/{job['id']}"))
    assert page.status_code == 200
    token = csrf_of(page.text)
    upload = site.url(f"/crew/jobs/{job['id']}/photos")
    not_image = session.post(upload, data={"csrf_token": token, "kind": "before"},
                             files={"photo": ("tag.jpg", b"%PDF-1.4 not a photo", "image/jpeg")})
    assert not_image.status_code == 422
    assert "n&#39;est pas une photo" in not_image.text
    huge = session.post(upload, data={"csrf_token": token, "kind": "before"},
                        files={"photo": ("big.jpg", b"\xff" * (9 * 1024 * 1024), "image/jpeg")})
    assert huge.status_code == 413
    no_token = session.post(upload, data={"kind": "before"},
                            files={"photo": ("t.jpg", jpeg_with_gps(), "image/jpeg")})
    assert no_token.status_code == 403
    stored = session.post(upload, data={"csrf_token": token, "kind": "before"},
                          files={"photo": ("t.jpg", jpeg_with_gps(), "image/jpeg")},
                          allow_redirects=False)
    assert stored.status_code == 303, stored.text
    photos = site.call("GET", f"/api/v1/tag-jobs/{job['id']}", "tags").json()["photos"]
    assert len(photos) == 1 and photos[0].startswith(f"photos/{job['id']}/before-")
    kind_name = photos[0].split("/")[2]
    served = session.get(site.url(f"/crew/jobs/{job['id']}/photos/before/"
                                  f"{kind_name[len('before-'):]}"))
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
    assert b"PhoneMaker" not in served.content
    assert Image.open(io.BytesIO(served.content)).getexif() == {}  # no EXIF at all
    bad = session.post(site.url(f"/crew/jobs/{job['id']}/complete"), data={
        "csrf_token": token, "removed_m2": "beaucoup", "method": "chemical",
        "minutes_spent": "45"})
    assert bad.status_code == 422 and 'value="beaucoup"' in bad.text
    assert "Ce n&#39;est pas un nombre." in bad.text
    with_crew(site, "Karim")
    assert site.call("POST", f"/api/v1/tag-jobs/{job['id']}/schedule", "coordinator", json={
        "date": TODAY.isoformat(), "crew": ["Karim"]}).status_code == 200
    done = session.post(site.url(f"/crew/jobs/{job['id']}/complete"), data={
        "csrf_token": token, "removed_m2": "3,5", "method": "pressure_washing",
        "minutes_spent": "45", "crew": "Karim"}, allow_redirects=False)
    assert done.status_code == 303, done.text
    assert site.call("GET", f"/api/v1/tag-jobs/{job['id']}", "tags").json()["status"] == "done"


def test_a_referral_of_a_person_needs_the_consent_step(site):
    session = logged_in(site, "streetworker")
    form = session.get(site.url("/referrals/new"))
    assert form.status_code == 200
    partner = next(p["code"] for p in site.call("GET", "/api/v1/partners", "coordinator").json()
                   if "addiction" in p["accepts"] and p["organisation"] != "street_work")
    assert f'<option value="{partner}"' in form.text
    typed = {"csrf_token": csrf_of(form.text), "receiver_service": partner,
             "subject": "person", "reason": "addiction", "urgency": "high",
             "message": "Demande un accompagnement.", "identity.name": "Yanis B."}
    refused = session.post(site.url("/referrals/new"), data=typed)
    assert refused.status_code == 422 and "demande son consentement" in refused.text
    assert 'value="Yanis B."' in refused.text
    answer = session.post(site.url("/referrals/new"), data={
        **typed, "consent.given": "yes", "consent.kind": "verbal"}, allow_redirects=False)
    assert answer.status_code == 303, answer.text
    referral_id = answer.headers["Location"].rsplit("/", 1)[1]
    referral = session.get(site.url(answer.headers["Location"]))
    assert referral.status_code == 200 and "Demande un accompagnement." in referral.text
    assert f'href="/referrals/{referral_id}"' in session.get(site.url("/referrals?box=outbox")).text
    wrong_org = logged_in(site, "mediator").get(site.url(answer.headers["Location"]))
    assert wrong_org.status_code == 404  # the service decides: not a party, not shown
    assert "Demande un accompagnement." not in wrong_org.text
    refused = session.post(site.url(f"/referrals/{referral_id}/decline"), data={
        "csrf_token": csrf_of(referral.text), "reason": "Hors zone"})
    assert refused.status_code == 403  # only the receiver answers; said on the page


def test_the_auditor_reads_the_access_log_with_filters(site):
    session = logged_in(site, "auditor")
    page = session.get(site.url("/audit?user=streetworker"))
    assert page.status_code == 200 and "Journal d'audit" in page.text
    bad = session.get(site.url("/audit?referral_id=abc"))
    assert bad.status_code == 422 and 'value="abc"' in bad.text


def test_api_errors_follow_accept_language(site):
    french = site.session.post(site.url("/api/v1/auth/token"), json={
        "username": "nobody", "password": "x"}, headers={"Accept-Language": "fr-BE"})
    assert french.json()["error"]["message"] == "Nom d'utilisateur ou mot de passe incorrect."
    english = site.session.post(site.url("/api/v1/auth/token"), json={"username": "nobody"})
    assert english.json()["error"]["fields"] == {"password": [
        "Missing data for required field."]}  # no Accept-Language: as written
    dutch = site.session.post(site.url("/api/v1/auth/token"), json={"username": "nobody"},
                              headers={"Accept-Language": "nl"})
    assert dutch.json()["error"]["fields"] == {"password": ["Verplicht veld."]}


def test_static_files_and_vendored_licences(site):
    for path in ("/static/vendor/htmx/htmx.min.js", "/static/vendor/leaflet/leaflet.js",
                 "/static/vendor/chartjs/chart.umd.min.js",
                 "/static/vendor/redoc/redoc.standalone.js", "/static/css/app.css"):
        assert site.session.get(site.url(path)).status_code == 200, path
    assert site.session.get(site.url("/static/../service.py")).status_code == 404
    vendor = Path(__file__).parents[2] / "services/gateway/web/static/vendor"
    for library in ("htmx", "leaflet", "chartjs", "redoc"):
        assert any(p.name.startswith("LICENSE") for p in (vendor / library).iterdir())
