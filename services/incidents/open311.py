"""Open311 GeoReport v2 over the incidents (docs/adr/0030-open311-georeport-v2.md), the pure
part: the services catalogue and definitions (reference/open311.yaml), a POSTed request read
into an incident report, a request query read into filters, and an incident shown as a service
request. No I/O, no framework; errors are the platform's typed errors, which the Open311 edge
(open311_routes.py) answers in the specification's error format.

What the specification leaves to the server, decided here:
- service_request_id is the ticket number the desk gives (LISA-2026-000123);
- a request is `closed` once the work is done or the incident is closed, cancelled or a
  duplicate; `expected_datetime` is the category's SLA deadline (Belgian working days);
- the public view shows place, category, status and dates, never the citizen's description
  (free text may name people) nor a contact;
- a citizen's contact is kept only with `attribute[contact_consent]=yes`: Open311 has no
  consent field, and data the responsible service may not use is not kept.
"""
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import cache
from typing import Any

from services.incidents.domain import (
    BRUSSELS,
    CANCELLED,
    CLOSED,
    DUPLICATE,
    IN_PROGRESS,
    NEW,
    REOPENED,
    RESOLVED,
    STATUSES,
    TRIAGED,
)
from services.incidents.reference import HERE
from shared.errors import BadRequest, NotFound
from shared.reference import load_yaml

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANNEL = "open311"
LANGUAGES = ("fr", "nl", "en")
DEFAULT_LANGUAGE = "fr"        # the platform's default (DESIGN.md section 4)
WINDOW = timedelta(days=90)    # the default span of a search, and the longest one
MAX_RESULTS = 1000             # the most requests one search returns (most recent first)
MAX_IDS = 100                  # service_request_id values in one search
OPEN, CLOSED_OPEN311 = "open", "closed"
OPEN311_STATUSES = (OPEN, CLOSED_OPEN311)
DONE_STATUSES = frozenset({RESOLVED, CLOSED, CANCELLED, DUPLICATE})
MAX_DESCRIPTION = 3000         # the citizen's text; the answers follow it in the incident
MAX_FIELD = 200
YES, NO = "yes", "no"
CONTACT_CONSENT = "contact_consent"
POSTCODE = re.compile(r"\b(1[0-2]\d\d|[1-9]\d{3})\b")

STATUS_NOTES = {
    NEW: {"fr": "Reçu", "nl": "Ontvangen", "en": "Received"},
    TRIAGED: {"fr": "Transmis au service responsable", "nl": "Doorgegeven aan de "
              "verantwoordelijke dienst", "en": "Passed to the responsible service"},
    IN_PROGRESS: {"fr": "En cours", "nl": "In behandeling", "en": "In progress"},
    REOPENED: {"fr": "Rouvert", "nl": "Heropend", "en": "Reopened"},
    RESOLVED: {"fr": "Résolu", "nl": "Opgelost", "en": "Resolved"},
    CLOSED: {"fr": "Clôturé", "nl": "Afgesloten", "en": "Closed"},
    CANCELLED: {"fr": "Annulé", "nl": "Geannuleerd", "en": "Cancelled"},
    DUPLICATE: {"fr": "Doublon d'un autre signalement", "nl": "Dubbel van een andere melding",
                "en": "Duplicate of another request"},
}


# -- the catalogue ------------------------------------------------------------------------------

@cache
def catalogue() -> dict[str, Any]:
    return load_yaml(HERE / "open311.yaml")


def service_codes() -> tuple[str, ...]:
    return tuple(item["code"] for item in catalogue()["services"])


def _service(code: str) -> dict[str, Any]:
    for item in catalogue()["services"]:
        if item["code"] == code:
            return item
    raise NotFound(f"service_code not found: {code!r}.")


def attributes_of(code: str) -> list[dict[str, Any]]:
    """The questions of a service, its own first, then those every service asks."""
    service = _service(code)
    own = catalogue()[f"{service['attributes']}_attributes"] if service.get("attributes") \
        else []
    return [*own, *catalogue()["common_attributes"]]


def language(value: object) -> str:
    """`locale` as a client sends it (fr, nl_BE, en-GB, ...); the platform's default else."""
    if isinstance(value, str) and value[:2].lower() in LANGUAGES:
        return value[:2].lower()
    return DEFAULT_LANGUAGE


@dataclass(frozen=True)
class CategoryLabels:
    """What the incidents service knows of a category, for the catalogue."""
    code: str
    labels: Mapping[str, str]
    group: Mapping[str, str]
    sla_working_days: int


def service_entry(category: CategoryLabels, lang: str) -> dict[str, Any]:
    service = _service(category.code)
    return {
        "service_code": category.code,
        "service_name": category.labels[lang],
        "description": f"{category.group[lang]}: {category.labels[lang]}",
        "metadata": bool(attributes_of(category.code)),
        "type": "realtime",
        "keywords": service.get("keywords", ""),
        "group": category.group[lang],
    }


def _datatype_description(attribute: Mapping[str, Any]) -> str | None:
    if attribute["datatype"] == "number":
        return f"{attribute['min']:g} - {attribute['max']:g}"
    return None


def service_definition(code: str, lang: str) -> dict[str, Any]:
    return {
        "service_code": code,
        "attributes": [{
            "variable": True,
            "code": attribute["code"],
            "datatype": attribute["datatype"],
            "required": bool(attribute["required"]),
            "datatype_description": _datatype_description(attribute),
            "order": order,
            "description": attribute[lang],
            "values": [{"key": value["key"], "name": value[lang]}
                       for value in attribute.get("values", ())],
        } for order, attribute in enumerate(attributes_of(code), start=1)],
    }


# -- a POSTed request ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Open311Report:
    payload: dict[str, Any]          # for the incidents' ReportIncidentSchema
    answers: dict[str, Any]          # the definition's answers, kept beside the incident
    requested_code: str              # the service_code the client sent


def _text(form: Mapping[str, str], name: str, limit: int = MAX_FIELD) -> str | None:
    value = form.get(name)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"Give {name} once.")
    if value is None or not value.strip():
        return None
    if len(value) > limit:
        raise BadRequest(f"{name} is longer than {limit} characters.")
    return value.strip()


def _coordinate(form: Mapping[str, str], name: str) -> float | None:
    text = _text(form, name, 40)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(f"{name} is not a number: {text!r}.") from None
    if not math.isfinite(value):
        raise BadRequest(f"{name} is not a number: {text!r}.")
    return value


def attribute_answers(form: Mapping[str, Any], code: str) -> dict[str, Any]:
    """`attribute[code]=value` as the definition of `code` allows: required ones given, listed
    values only, numbers in range, nothing it does not ask."""
    asked = {attribute["code"]: attribute for attribute in attributes_of(code)}
    given: dict[str, Any] = {}
    for name, value in form.items():
        match = re.fullmatch(r"attribute\[([A-Za-z0-9_]{1,50})\](\[\])?", name)
        if match is None:
            if name.startswith("attribute"):
                raise BadRequest(f"{name[:60]!r} is not attribute[code].")
            continue
        if match.group(1) not in asked:
            raise BadRequest(f"attribute[{match.group(1)}] is not asked by {code}.")
        given[match.group(1)] = value
    answers: dict[str, Any] = {}
    for key, attribute in asked.items():
        value = given.get(key)
        if isinstance(value, list):  # a multivaluelist may repeat; ours are single values
            if len(value) != 1:
                raise BadRequest(f"attribute[{key}] takes one value.")
            value = value[0]
        if value is None or not str(value).strip():
            if attribute["required"]:
                raise BadRequest(f"attribute[{key}] is required for {code}.")
            continue
        value = str(value).strip()
        if attribute["datatype"] == "singlevaluelist":
            keys = [option["key"] for option in attribute["values"]]
            if value not in keys:
                raise BadRequest(f"attribute[{key}] is one of {', '.join(keys)}.")
            answers[key] = value
        else:  # number
            try:
                number = float(value)
            except ValueError:
                raise BadRequest(f"attribute[{key}] is not a number.") from None
            if not (math.isfinite(number) and attribute["min"] <= number <= attribute["max"]):
                raise BadRequest(f"attribute[{key}] is between {attribute['min']:g} and "
                                 f"{attribute['max']:g}.")
            answers[key] = number
    return answers


def _answers_line(answers: Mapping[str, Any], media_url: str | None) -> str:
    said = [f"{key}: {value:g}" if isinstance(value, float) else f"{key}: {value}"
            for key, value in answers.items() if key != CONTACT_CONSENT]
    if media_url:
        said.append(f"media_url: {media_url}")
    return f"[Open311] {'; '.join(said)}" if said else ""


def report_from_form(form: Mapping[str, Any]) -> Open311Report:
    """A GeoReport v2 POST (its form fields, api_key removed) as an incident report. Raises
    BadRequest (or NotFound for an unknown service_code) naming what is wrong."""
    code = _text(form, "service_code", 50)
    if code is None:
        raise BadRequest("service_code is required.")
    if code not in service_codes():
        raise BadRequest(f"service_code not found: {code!r}.")
    lat, lon = _coordinate(form, "lat"), _coordinate(form, "long")
    if (lat is None) != (lon is None):
        raise BadRequest("Send both lat and long, or neither.")
    address = _text(form, "address_string", 300)
    if lat is None and address is None:
        raise BadRequest("A location is required: lat and long, or address_string "
                         "(address_id is not supported).")
    answers = attribute_answers(form, code)
    category = code
    if answers.get("offensive") == YES:
        category = catalogue()["offensive_category"]
    media_url = _text(form, "media_url", 500)
    if media_url is not None and not re.fullmatch(r"https?://\S+", media_url):
        raise BadRequest("media_url is an http(s) URL.")
    description = _text(form, "description", MAX_DESCRIPTION) or ""
    line = _answers_line(answers, media_url)
    text = "\n\n".join(part for part in (description, line) if part) or \
        "[Open311] no description"
    reporter = None
    if answers.get(CONTACT_CONSENT) == YES:
        name = " ".join(part for part in (_text(form, "first_name", 100),
                                          _text(form, "last_name", 100)) if part) or None
        email, phone = _text(form, "email", 200), _text(form, "phone", 30)
        if name or email or phone:
            reporter = {"name": name, "email": email, "phone": phone, "may_contact": True,
                        "share_with_police": False}
    payload = {
        "category": category, "description": text, "channel": CHANNEL,
        "location": {"address": address or f"{lat:.6f}, {lon:.6f}", "lat": lat, "lon": lon},
        "reporter": reporter,
    }
    if media_url:
        answers["media_url"] = media_url
    return Open311Report(payload, answers, code)


# -- a search -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestQuery:
    ids: tuple[str, ...]             # tickets; when given, every other filter is ignored
    codes: tuple[str, ...]
    statuses: tuple[str, ...]
    start: datetime
    end: datetime


def _listed(value: str | None, name: str, allowed: Iterable[str] | None = None,
            most: int = MAX_IDS) -> tuple[str, ...]:
    if value is None:
        return ()
    items = tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))
    if len(items) > most:
        raise BadRequest(f"At most {most} values of {name}.")
    if allowed is not None:
        unknown = [item for item in items if item not in allowed]
        if unknown:
            raise BadRequest(f"{name} not found: {', '.join(u[:50] for u in unknown)}.")
    return items


def parse_datetime(value: str, name: str) -> datetime:
    """A W3C date or date-time (2026-11-23, 2026-11-23T10:00:00+01:00, ...Z); a time without
    offset is Brussels time."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{name} is not a W3C date-time: {text[:40]!r}.") from None
    if len(text) == 10:  # a date: its midnight
        parsed = datetime.combine(parsed.date(), time())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=BRUSSELS)
    if not 2000 <= parsed.year <= 2100:  # also keeps the arithmetic clear of year 1 and 9999
        raise BadRequest(f"{name} is out of range: {text[:40]!r}.")
    return parsed


def request_query(args: Mapping[str, str], now: datetime) -> RequestQuery:
    """GET requests' filters: service_request_id, service_code, status (each comma
    delimited), start_date and end_date (at most 90 days apart; the last 90 days by default)."""
    ids = _listed(args.get("service_request_id"), "service_request_id")
    if any(len(item) > 40 for item in ids):
        raise BadRequest("service_request_id values are ticket numbers.")
    codes = _listed(args.get("service_code"), "service_code", service_codes())
    statuses = _listed(args.get("status"), "status", OPEN311_STATUSES)
    # In UTC from here: spans are real durations (a Brussels day across a clock change is 23
    # or 25 hours), and SQLite compares the stored UTC date-times as text.
    start = parse_datetime(args["start_date"], "start_date").astimezone(UTC) \
        if args.get("start_date") else None
    end = parse_datetime(args["end_date"], "end_date").astimezone(UTC) \
        if args.get("end_date") else None
    if start is None and end is None:
        end = now
    if start is None:
        assert end is not None
        start = end - WINDOW
    if end is None:
        end = start + WINDOW
    if start > end:
        raise BadRequest("start_date is after end_date.")
    if end - start > WINDOW:
        raise BadRequest("start_date and end_date may not span more than 90 days.")
    return RequestQuery(ids, codes, statuses, start, end)


def incident_statuses(statuses: Iterable[str]) -> frozenset[str] | None:
    """The incident statuses an Open311 status filter means; None: no filter."""
    wanted = set(statuses)
    if not wanted or wanted == set(OPEN311_STATUSES):
        return None
    done = wanted == {CLOSED_OPEN311}
    return frozenset(s for s in STATUSES if (s in DONE_STATUSES) == done)


# -- an incident as a service request -----------------------------------------------------------

def open311_status(status: str) -> str:
    return CLOSED_OPEN311 if status in DONE_STATUSES else OPEN


def w3c(moment: datetime | None) -> str | None:
    """A W3C date-time in Brussels time, to the second (2026-11-23T16:05:00+01:00)."""
    return moment.astimezone(BRUSSELS).isoformat(timespec="seconds") if moment else None


def zipcode(address: str) -> str | None:
    match = POSTCODE.search(address)
    return match.group(1) if match else None


def request_record(facts: Mapping[str, Any], service_name: str, lang: str) -> dict[str, Any]:
    """One incident as GeoReport v2 shows a service request. `facts`: ticket, status,
    category_code, partner, reported_at, updated_at, sla_due_at, address, lat, lon."""
    status = facts["status"]
    return {
        "service_request_id": facts["ticket"],
        "status": open311_status(status),
        "status_notes": STATUS_NOTES[status][lang],
        "service_name": service_name,
        "service_code": facts["category_code"],
        "description": None,
        "agency_responsible": facts["partner"],
        "service_notice": None,
        "requested_datetime": w3c(facts["reported_at"]),
        "updated_datetime": w3c(facts["updated_at"]),
        "expected_datetime": w3c(facts["sla_due_at"]),
        "address": facts["address"],
        "address_id": None,
        "zipcode": zipcode(facts["address"]),
        "lat": facts["lat"],
        "long": facts["lon"],
        "media_url": None,
    }


def service_notice(sla_due_at: datetime, lang: str) -> str:
    day = sla_due_at.astimezone(BRUSSELS).date().isoformat()
    return {"fr": f"Traitement prévu au plus tard le {day}.",
            "nl": f"Behandeling gepland uiterlijk op {day}.",
            "en": f"Expected to be handled by {day}."}[lang]
