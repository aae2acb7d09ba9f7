"""A realistic demo antenna (Ixelles, Tulipe): accounts and three weeks of incidents.

Generated through the same use cases as the API (so the outbox holds their events too), with a
fixed random seed so every demo looks the same."""
import random
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from services.gateway import auth
from services.incidents import domain, use_cases, views
from services.incidents.models import Incident
from shared.identity import Identity

DEMO_PASSWORD = "demo"

# username -> (role, organisation); embedded mode only.
DEMO_ACCOUNTS = {
    "desk": ("desk", "antenna_desk"),
    "warden": ("warden", "gardiens_de_la_paix"),
    "streetworker": ("street_worker", "street_work"),
    "mediator": ("mediator", "social_mediation"),
    "police": ("police", "police_zone"),
    "tags": ("tags", "cellule_tags"),
    "coordinator": ("coordinator", "prevention_service"),
    "auditor": ("auditor", "prevention_service"),
    "admin": ("admin", "prevention_service"),
    # receiving partners, so referrals can be answered in the demo
    "addiction": ("street_worker", "addiction_service"),
    "ifv": ("mediator", "intra_family_violence"),
    "housing": ("mediator", "housing_advice"),
}

STREETS = [
    # (street, neighbourhood, lat, lon)
    ("Rue de la Tulipe", "Tulipe", 50.8338, 4.3703),
    ("Rue de la Paix", "Tulipe", 50.8348, 4.3678),
    ("Rue Longue Vie", "Matonge", 50.8342, 4.3655),
    ("Chaussée d'Ixelles", "Matonge", 50.8352, 4.3646),
    ("Place Fernand Cocq", "Fernand Cocq", 50.8327, 4.3667),
    ("Rue du Viaduc", "Tulipe", 50.8330, 4.3742),
    ("Rue Malibran", "Flagey", 50.8300, 4.3735),
    ("Place Flagey", "Flagey", 50.8276, 4.3723),
    ("Rue Sans Souci", "Tulipe", 50.8315, 4.3716),
    ("Rue Goffart", "Tulipe", 50.8324, 4.3726),
    ("Rue Scarron", "Fernand Cocq", 50.8320, 4.3690),
    ("Rue de Vergnies", "Flagey", 50.8290, 4.3760),
]

DESCRIPTIONS = {
    "graffiti_offensive": ["Tag insultant sur la porte de l'école.",
                           "Inscription haineuse sur la façade d'un commerce."],
    "graffiti_public": ["Tags sur l'abribus.", "Graffitis sur le mur du parc, environ 4 m2.",
                        "Tags sur une armoire électrique."],
    "graffiti_private": ["Tag sur la vitrine d'une boulangerie, le commerçant demande "
                         "l'enlèvement.", "Façade d'immeuble taguée au rez-de-chaussée."],
    "illegal_dumping": ["Matelas et sacs déposés au coin de la rue.",
                        "Dépôt de meubles sur le trottoir depuis deux jours."],
    "litter": ["Trottoir très sale devant le n°, déchets alimentaires."],
    "noise": ["Musique forte toutes les nuits depuis une semaine."],
    "neighbour_conflict": ["Conflit entre voisins au sujet d'une cour commune."],
    "group_nuisance": ["Groupe de jeunes bruyant le soir près de la place."],
    "syringes_found": ["Seringues trouvées dans le bac à sable de l'aire de jeux."],
    "drug_scene": ["Deal visible en journée près de l'arrêt de tram."],
    "burglary": ["Cambriolage dans un appartement, la victime souhaite une visite de "
                 "technoprévention."],
    "bicycle_theft": ["Vélo volé malgré un cadenas, rue commerçante."],
    "street_lighting": ["Trois lampadaires éteints, rue très sombre le soir."],
    "road_defect": ["Nid de poule dangereux pour les cyclistes."],
    "housing_problem": ["Locataire signale de l'humidité et des moisissures importantes."],
    "homelessness": ["Personne sans abri installée sous le porche, semble en mauvaise santé."],
    "other_request": ["Demande d'information sur les permanences de l'antenne."],
}
WEIGHTS = {"graffiti_public": 8, "graffiti_private": 6, "graffiti_offensive": 2,
           "illegal_dumping": 7, "litter": 3, "noise": 3, "neighbour_conflict": 2,
           "group_nuisance": 3, "syringes_found": 2, "drug_scene": 2, "burglary": 2,
           "bicycle_theft": 2, "street_lighting": 3, "road_defect": 2, "housing_problem": 1,
           "homelessness": 1, "other_request": 1}
REPORTERS = [("desk", "desk", "antenna_desk", "desk"), ("warden", "warden",
             "gardiens_de_la_paix", "warden"), ("streetworker", "street_worker", "street_work",
             "street_worker"), ("police", "police", "police_zone", "police")]


def ensure_accounts(session, antenna_id: str) -> None:
    for username, (role, organisation) in DEMO_ACCOUNTS.items():
        auth.create_user(session, username, DEMO_PASSWORD, role, organisation, [antenna_id])
    session.commit()


def seed_incidents(database, antenna_id: str, days: int = 21, seed: int = 1050) -> int:
    """Three weeks of incidents moving through their lifecycle. Skipped if any exist."""
    with database.session() as session:
        if session.scalar(select(func.count()).select_from(Incident)):
            return 0
    rng = random.Random(seed)
    codes, weights = zip(*WEIGHTS.items(), strict=True)
    coordinator = Identity("coordinator", "coordinator", "prevention_service", (antenna_id,))
    today = datetime.now(UTC)
    created = 0
    for back in range(days, -1, -1):
        day = (today - timedelta(days=back)).date()
        for _ in range(rng.randint(3, 8) if day.weekday() < 5 else rng.randint(0, 3)):
            at = datetime.combine(day, time(rng.randint(7, 18), rng.randint(0, 59)), UTC)
            if at > today:
                continue
            code = rng.choices(codes, weights)[0]
            street, neighbourhood, lat, lon = rng.choice(STREETS)
            user, role, org, channel = rng.choice(REPORTERS)
            identity = Identity(user, role, org, (antenna_id,))
            payload = {
                "category": code, "description": rng.choice(DESCRIPTIONS[code]),
                "channel": channel if role != "desk" else rng.choice(["desk", "phone", "email"]),
                "location": {"address": f"{street} {rng.randint(1, 120)}, 1050 Ixelles",
                             "lat": round(lat + rng.uniform(-0.0006, 0.0006), 6),
                             "lon": round(lon + rng.uniform(-0.0006, 0.0006), 6),
                             "neighbourhood": neighbourhood},
                "reporter": None,
            }
            if role == "desk" and rng.random() < 0.6:
                payload["reporter"] = {"name": rng.choice(["M. Dupont", "Mme Janssens",
                                                           "Mme El Amrani", "M. Peeters"]),
                                       "phone": f"+32 2 {rng.randint(500, 699)} "
                                                f"{rng.randint(10, 99)} {rng.randint(10, 99)}",
                                       "may_contact": True,
                                       "share_with_police": rng.random() < 0.4}
            with database.unit_of_work(f"demo-{created}") as uow:
                incident_id = use_cases.report(uow, identity, payload, at,
                                               antenna_id)["incident"]["id"]
            created += 1
            _advance(database, coordinator, incident_id, at, today, rng)
    return created


def _advance(database, coordinator, incident_id, reported_at, today, rng) -> None:
    """Move older incidents along: triaged after hours, worked, resolved, closed."""
    age = (today - reported_at).days
    chain = [  # (status, minimum age in days, probability, delay after the previous step)
        (domain.TRIAGED, 1, 0.95, timedelta(hours=rng.randint(1, 20))),
        (domain.IN_PROGRESS, 3, 0.8, timedelta(hours=rng.randint(4, 30))),
        (domain.RESOLVED, 5, 0.75, timedelta(days=rng.randint(1, 6))),
        (domain.CLOSED, 10, 0.7, timedelta(days=rng.randint(1, 3))),
    ]
    steps = []
    for status, min_age, probability, delay in chain:
        if age < min_age or rng.random() > probability:
            break
        steps.append((status, delay))
    at = reported_at
    for status, after in steps:
        at = min(at + after, today)
        with database.unit_of_work(f"demo-advance-{incident_id}") as uow:
            if status == domain.TRIAGED:
                use_cases.triage(uow, coordinator, incident_id, {}, at)
            else:
                use_cases.change_status(uow, coordinator, incident_id, {"status": status}, at)



SURFACE_WEIGHTS = {"brick": 5, "painted": 4, "concrete": 3, "stone": 2, "metal": 2, "glass": 2,
                   "wood": 1, "other": 1}


DEMO_CREW = ("Karim", "Sofie", "Luc", "Ana")


def seed_crew(tags_db, antenna_id: str) -> None:
    """The demo crew, added as the coordinator adds members. Skipped if the crew has any."""
    from services.tags import use_cases as tags
    from services.tags.models import CrewMember

    with tags_db.session() as session:
        if session.scalar(select(func.count()).select_from(CrewMember)):
            return
    coordinator = Identity("coordinator", "coordinator", "prevention_service", (antenna_id,))
    for name in DEMO_CREW:
        with tags_db.unit_of_work() as uow:
            tags.add_crew_member(uow, coordinator, {"name": name, "hours_per_day": 7.6},
                                 datetime.now(UTC))


def seed_tag_jobs(incidents_db, tags_db, antenna_id: str, seed: int = 2500) -> int:
    """The crew and its backlog: a job per demo graffiti incident, assessed, some private ones
    waiting for consent, older ones scheduled and done, recent ones ready. Skipped if jobs
    exist."""
    from services.tags import use_cases as tags
    from services.tags.models import Job

    seed_crew(tags_db, antenna_id)
    with tags_db.session() as session:
        if session.scalar(select(func.count()).select_from(Job)):
            return 0
    service = Identity.for_service("tags", (antenna_id,))
    crew = Identity("karim", "tags", "cellule_tags", (antenna_id,))
    today = datetime.now(UTC)
    with incidents_db.session() as session:
        graffiti = views.list_incidents(session, service, {"category": "graffiti",
                                                           "limit": 500, "offset": 0},
                                        today)["items"]
    rng = random.Random(seed)
    surfaces, weights = zip(*SURFACE_WEIGHTS.items(), strict=True)
    created = 0
    for incident in sorted(graffiti, key=lambda i: i["reported_at"]):
        if incident["status"] in (domain.CANCELLED, domain.DUPLICATE):
            continue
        at = incident["reported_at"] + timedelta(minutes=5)
        with tags_db.unit_of_work(f"demo-job-{incident['id']}") as uow:
            job = tags.create_from_incident(uow, {"incident_id": incident["id"],
                                                  "category": incident["category_code"]},
                                            incident, antenna_id, at)
            uow.commit()
        created += 1
        job_id = job.id
        at += timedelta(hours=rng.randint(2, 30))
        if at > today:
            continue
        with tags_db.unit_of_work() as uow:
            tags.assess(uow, crew, job_id, {
                "surface": rng.choices(surfaces, weights)[0],
                "area_m2": rng.choice([0.5, 1, 1.5, 2, 3, 4, 6, 8, 12]),
                "height_m": rng.choice([0, 0, 0, 1, 2, 4])}, at)
        if job.ownership != "public":
            if rng.random() > 0.65:
                continue  # still waiting for the owner's signed waiver
            at += timedelta(days=rng.randint(1, 4))
            if at > today:
                continue
            with tags_db.unit_of_work() as uow:
                tags.record_consent(uow, crew, job_id, {
                    "owner": rng.choice(["SPRL Boulangerie", "Copropriété Malibran 40",
                                         "M. Lambert", "Librairie du Viaduc"]),
                    "given_at": at, "waiver_reference": f"WAIVER-{job_id:04d}"}, at)
        at += timedelta(days=rng.randint(1, 4))
        if at > today + timedelta(days=2) or rng.random() < 0.15:
            continue  # ready, waiting for a plan
        day = at.astimezone(domain.BRUSSELS).date()
        with tags_db.unit_of_work() as uow:
            tags.schedule(uow, crew, job_id, {"date": day, "crew": ["Karim", "Sofie"]}, at)
        if at + timedelta(hours=6) > today:
            continue
        with tags_db.unit_of_work() as uow:
            tags.complete(uow, crew, job_id, {
                "removed_m2": round(rng.uniform(0.5, 10), 1),
                "method": rng.choice(["pressure_washing", "chemical", "chemical",
                                      "paint_over"]),
                "minutes_spent": rng.randint(30, 180), "crew": ["Karim", "Sofie"]},
                at + timedelta(hours=6))
    return created


DEMO_REFERRALS = [
    # (sender, receiver service, subject, reason, urgency, message, basis, steps, days ago)
    ("streetworker", "addiction_outreach", "person", "addiction", "high",
     "Jeune majeur rencontré place Fernand Cocq, consommation quotidienne, demande un "
     "accompagnement discret.", "consent", ["accept", "contact-made", "successful"], 16),
    ("streetworker", "youth_house", "person", "youth", "normal",
     "Adolescent déscolarisé, cherche une activité l'après-midi.", "consent",
     ["accept", "contact-made"], 9),
    ("desk", "tenant_advice", "person", "housing", "normal",
     "Locataire: humidité importante, propriétaire injoignable.", "consent", ["accept"], 6),
    ("desk", "social_service", "person", "social_aid", "normal",
     "Personne âgée isolée, factures impayées.", "consent", [], 2),
    ("police", "ifv_support", "person", "family_violence", "urgent",
     "Intervention au domicile, victime orientée avec son accord.", "consent",
     ["accept", "contact-made", "successful"], 12),
    ("police", "ifv_support", "person", "family_violence", "urgent",
     "Situation de danger signalée par un voisin; concertation de cas prévue.", "legal",
     ["accept"], 3),
    ("mediator", "social_service", "person", "social_aid", "low",
     "Famille en difficulté suite à un conflit de voisinage.", "consent", ["decline"], 8),
    ("warden", "neighbour_mediation", "situation", "mediation", "normal",
     "Tensions récurrentes entre riverains et clients d'un café, rue de la Paix.", None,
     ["accept", "contact-made", "unsuccessful"], 14),
    ("streetworker", "addiction_outreach", "person", "addiction", "normal",
     "Personne rencontrée au parc, accepte un premier rendez-vous.", "consent", [], 1),
]


def seed_referrals(referrals_db, antenna_id: str) -> int:
    """Referrals between several partners at every stage. Skipped if any exist."""
    from services.referrals import use_cases as referrals
    from services.referrals.models import Referral

    with referrals_db.session() as session:
        if session.scalar(select(func.count()).select_from(Referral)):
            return 0
    today = datetime.now(UTC)
    receivers = {"addiction_outreach": "addiction", "ifv_support": "ifv",
                 "tenant_advice": "housing", "youth_house": None, "social_service": None,
                 "neighbour_mediation": None}
    for n, (sender, service, subject, reason, urgency, message, basis, steps, days) in \
            enumerate(DEMO_REFERRALS, start=1):
        role, organisation = DEMO_ACCOUNTS[sender]
        at = today - timedelta(days=days, hours=3)
        body = {"receiver_service": service, "subject": subject, "reason": reason,
                "urgency": urgency, "message": message, "client_key": None, "identity": None,
                "consent": None, "legal_basis": None}
        if basis == "consent":
            body["client_key"] = f"{organisation[:3].upper()}-{n:04d}"
            body["consent"] = {"kind": "written", "given_at": at - timedelta(hours=1),
                               "expires_at": None}
        elif basis == "legal":
            body["legal_basis"] = {"basis": "danger_physical_integrity",
                                   "reference": "Menaces répétées; concertation de cas "
                                                "(art. 458ter) prévue."}
        with referrals_db.unit_of_work(f"demo-referral-{n}") as uow:
            referral_id = referrals.send(uow, Identity(sender, role, organisation,
                                                       (antenna_id,)), body, at)["id"]
        receiver_org = referrals_db_organisation(service)
        receiver = receivers.get(service)
        acting = Identity(receiver or f"{receiver_org}-staff",
                          DEMO_ACCOUNTS[receiver][0] if receiver else "mediator", receiver_org,
                          (antenna_id,))
        for step in steps:
            at += timedelta(days=1, hours=2)
            with referrals_db.unit_of_work() as uow:
                if step == "accept":
                    referrals.accept(uow, acting, referral_id, {}, at)
                elif step == "contact-made":
                    referrals.contact_made(uow, acting, referral_id, {}, at)
                elif step == "decline":
                    referrals.decline(uow, acting, referral_id,
                                      {"reason": "Situation suivie par un autre service."}, at)
                else:
                    referrals.close(uow, acting, referral_id, {"outcome": step}, at)
    return len(DEMO_REFERRALS)


def referrals_db_organisation(service_code: str) -> str:
    from services.referrals.reference import directory_reference

    return next(o["organisation"] for o in directory_reference()
                for s in o["services"] if s["code"] == service_code)
