"""The demo antenna's incidents (Ixelles, Tulipe): three weeks of reports moving through their
lifecycle, made through the same use cases as the API (so the outbox holds their events too),
with a fixed random seed so every demo looks the same. Hands its incidents on to the services
seeded after it (`handed_on["incidents"]`)."""
import random
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from services.incidents import domain, use_cases
from services.incidents.models import Incident
from shared.db import Database
from shared.identity import Identity
from shared.spec import DemoContext

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
# (demo username, channel): who reports, and how the report reaches the platform
REPORTERS = [("desk", "desk"), ("warden", "warden"), ("streetworker", "street_worker"),
             ("police", "police")]
CITIZENS = ["M. Dupont", "Mme Janssens", "Mme El Amrani", "M. Peeters"]


def seed_demo(database: Database, context: DemoContext, days: int = 21,
              seed: int = 1050) -> str | None:
    """Skipped if any incident exists."""
    with database.session() as session:
        if session.scalar(select(func.count()).select_from(Incident)):
            return None
    antenna_id, today = context.antenna_id, context.now
    rng = random.Random(seed)
    codes, weights = zip(*WEIGHTS.items(), strict=True)
    coordinator = _identity(context, "coordinator")
    reported = []
    for back in range(days, -1, -1):
        day = (today - timedelta(days=back)).date()
        for _ in range(rng.randint(3, 8) if day.weekday() < 5 else rng.randint(0, 3)):
            at = datetime.combine(day, time(rng.randint(7, 18), rng.randint(0, 59)), UTC)
            if at > today:
                continue
            code = rng.choices(codes, weights)[0]
            street, neighbourhood, lat, lon = rng.choice(STREETS)
            user, channel = rng.choice(REPORTERS)
            identity = _identity(context, user)
            at_desk = identity.role == "desk"
            payload = {
                "category": code, "description": rng.choice(DESCRIPTIONS[code]),
                "channel": rng.choice(["desk", "phone", "email"]) if at_desk else channel,
                "location": {"address": f"{street} {rng.randint(1, 120)}, 1050 Ixelles",
                             "lat": round(lat + rng.uniform(-0.0006, 0.0006), 6),
                             "lon": round(lon + rng.uniform(-0.0006, 0.0006), 6),
                             "neighbourhood": neighbourhood},
                "reporter": None,
            }
            if at_desk and rng.random() < 0.6:
                payload["reporter"] = {"name": rng.choice(CITIZENS),
                                       "phone": f"+32 2 {rng.randint(500, 699)} "
                                                f"{rng.randint(10, 99)} {rng.randint(10, 99)}",
                                       "may_contact": True,
                                       "share_with_police": rng.random() < 0.4}
            with database.unit_of_work(f"demo-{len(reported)}") as uow:
                incident = use_cases.report(uow, identity, payload, at, antenna_id)["incident"]
            reported.append(incident)
            _advance(database, coordinator, incident["id"], at, today, rng)
    context.handed_on["incidents"] = reported
    return f"{len(reported)} demo incidents"


def _identity(context: DemoContext, username: str) -> Identity:
    role, organisation = context.accounts[username]
    return Identity(username, role, organisation, (context.antenna_id,))


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
