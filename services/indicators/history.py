"""A plausible history of an antenna's events (incidents reported and closed, graffiti removal
jobs, referrals), generated with a fixed seed: the demo's year of indicators and the benchmark's
event store are made with it. Payloads follow the publishers' schemas (the demo validates each
one with shared.events.build); identifiers start at `first_id`, far above the demo's own
records, so generated spans never join a live incident or job."""
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

# (sub-category, parent, phenomenon, partner, SLA in days, weight): from the incidents' categories
CATEGORIES = [
    ("graffiti_public", "graffiti", "social_nuisances", "cellule_tags", 5, 14),
    ("graffiti_private", "graffiti", "social_nuisances", "cellule_tags", 10, 8),
    ("graffiti_offensive", "graffiti", "social_nuisances", "cellule_tags", 1, 2),
    ("illegal_dumping", "cleanliness", "social_nuisances", "public_cleanliness", 3, 16),
    ("litter", "cleanliness", None, "public_cleanliness", 5, 10),
    ("noise", "nuisance", "social_nuisances", "night_mediation", 10, 8),
    ("neighbour_conflict", "nuisance", "social_nuisances", "social_mediation", 10, 5),
    ("group_nuisance", "nuisance", "social_nuisances", "street_work", 5, 5),
    ("syringes_found", "drugs", "drug_nuisances", "public_cleanliness", 1, 3),
    ("drug_scene", "drugs", "drug_nuisances", "police_zone", 5, 3),
    ("burglary", "property_crime", "burglary", "technoprevention", 10, 4),
    ("bicycle_theft", "property_crime", "bicycle_theft", "police_zone", 10, 5),
    ("street_lighting", "public_space_defect", None, "public_works", 10, 6),
    ("road_defect", "public_space_defect", None, "public_works", 15, 5),
    ("housing_problem", "social", None, "housing_advice", 10, 2),
    ("homelessness", "social", None, "homelessness_service", 2, 2),
]
NEIGHBOURHOODS = [("Tulipe", 5), ("Matonge", 3), ("Fernand Cocq", 2), ("Flagey", 2)]
CHANNELS = [("desk", 35), ("phone", 20), ("email", 10), ("warden", 15), ("street_worker", 5),
            ("police", 5), ("open311", 10)]
RECEIVERS = [("addiction_service", "addiction_outreach", "addiction"),
             ("intra_family_violence", "ifv_support", "victim_support"),
             ("housing_advice", "housing_desk", "housing"),
             ("social_mediation", "neighbour_mediation", "mediation")]
SURFACES = ["brick", "painted", "concrete", "stone", "metal", "glass"]


@dataclass(frozen=True)
class Generated:
    source: str
    event_type: str
    occurred_at: datetime
    payload: dict


def _iso(at: datetime) -> str:
    return at.isoformat()


def _pick(rng: random.Random, weighted):
    return rng.choices([w[0] if len(w) == 2 else w for w in weighted],
                       weights=[w[-1] for w in weighted])[0]


def generate(start: datetime, days: int, per_day: float, seed: int = 10,
             first_id: int = 900_000) -> Iterator[Generated]:
    """About `per_day` incident reports a day for `days` days from `start` (UTC), each followed
    by what becomes of it; a referral for about every eighth report. Not in time order across
    records (the store does not need it); the figures do not depend on order."""
    rng = random.Random(seed)
    next_id = first_id
    for day in range(days):
        base = start + timedelta(days=day)
        for _ in range(max(0, round(rng.gauss(per_day, per_day ** 0.5)))):
            next_id += 1
            category = _pick(rng, [(c, c[5]) for c in CATEGORIES])
            code, parent, phenomenon, partner, sla, _ = category
            reported = base + timedelta(minutes=rng.randrange(8 * 60, 19 * 60))
            neighbourhood = _pick(rng, NEIGHBOURHOODS)
            facts = {"incident_id": next_id, "ticket": f"LISA-{reported.year}-{next_id:06d}",
                     "category": code, "parent_category": parent, "phenomenon": phenomenon,
                     "zone": "social" if parent == "social" or code == "neighbour_conflict"
                     else "public_space", "partner": partner, "neighbourhood": neighbourhood}
            due = reported + timedelta(days=sla * 7 / 5)
            yield Generated("incidents", "incident_reported", reported, {
                **facts, "channel": _pick(rng, CHANNELS), "reported_at": _iso(reported),
                "sla_due_at": _iso(due)})
            closed = reported + timedelta(hours=rng.expovariate(1 / (sla * 24 * 0.9)))
            if rng.random() < 0.9:
                final = "closed" if rng.random() < 0.92 else "cancelled"
                yield Generated("incidents", "incident_closed", closed, {
                    **facts, "final_status": final, "reported_at": _iso(reported),
                    "closed_at": _iso(closed), "within_sla": closed <= due})
            if parent == "graffiti":
                yield from _job(rng, next_id, code, neighbourhood, reported, closed)
            if rng.random() < 0.125:
                yield from _referral(rng, next_id, reported)


def _job(rng, incident_id, code, neighbourhood, reported, removed) -> Iterator[Generated]:
    ownership = "private" if code == "graffiti_private" else "public"
    content = "offensive" if code == "graffiti_offensive" else "tag"
    area = round(rng.uniform(0.5, 12.0), 1)
    facts = {"job_id": incident_id, "incident_id": incident_id,
             "site_id": incident_id % 400 + 1, "neighbourhood": neighbourhood,
             "surface": rng.choice(SURFACES), "ownership": ownership, "content": content,
             "area_m2": area, "priority": 1 if content == "offensive" else 3,
             "due_at": None if ownership == "private" else
             _iso(reported + timedelta(days=1 if content == "offensive" else 7)),
             "recurrence": rng.random() < 0.12}
    created = reported + timedelta(minutes=5)
    yield Generated("tags", "job_created", created, {
        **facts, "status": "awaiting_consent" if ownership == "private" else "ready",
        "created_at": _iso(created)})
    if rng.random() < 0.85:
        done = max(removed, created + timedelta(hours=2))
        yield Generated("tags", "job_completed", done, {
            **facts, "removed_m2": area, "method": rng.choice(["pressure_wash", "chemical",
                                                                "paint_over"]),
            "minutes_spent": rng.randrange(20, 240), "completed_at": _iso(done),
            "within_deadline": None})


def _referral(rng, referral_id, at) -> Iterator[Generated]:
    org, service, reason = rng.choice(RECEIVERS)
    facts = {"referral_id": referral_id, "sender_org": rng.choice(["street_work", "police_zone",
                                                                    "antenna_desk"]),
             "receiver_org": org, "receiver_service": service, "subject": "person",
             "reason": reason, "urgency": "normal"}
    sent = at + timedelta(hours=1)
    yield Generated("referrals", "referral_sent", sent, {**facts, "status": "sent",
                                                         "at": _iso(sent)})
    if rng.random() < 0.8:
        closed = sent + timedelta(days=rng.randrange(3, 40))
        successful = rng.random() < 0.62
        yield Generated("referrals", "referral_closed", closed, {
            **facts, "status": "closed", "at": _iso(closed),
            "outcome": "successful" if successful else "unsuccessful",
            "successful": successful})
