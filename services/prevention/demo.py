"""The demo antenna's prevention activity: a year of street-work outings, accompaniments,
concertations, policy notes, neighbour mediations and technoprevention visits, made through the
same use cases as the API (each dated when it happened), so the indicators have a year of
events. Mediations and visits follow the demo's neighbour-conflict and burglary incidents
(handed on by the incidents demo); 'oriented' steps cite the street workers' referrals that the
receiver followed up (handed on by the referrals demo)."""
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from services.prevention import domain, use_cases
from services.prevention.models import OutingTally
from shared.db import Database
from shared.geo import neighbourhood_named
from shared.identity import Identity
from shared.spec import DemoContext
from shared.unit_of_work import UnitOfWork

NEIGHBOURHOODS = ("Tulipe", "Matonge", "Fernand Cocq", "Flagey")
STREET_WORKERS = (("streetworker", "Tulipe"), ("streetworker-2", "Matonge"),
                  ("streetworker-3", "Fernand Cocq"))
DAYS = 365


def seed_demo(database: Database, context: DemoContext) -> str | None:
    """Skipped if any outing exists."""
    with database.session() as session:
        if session.scalar(select(func.count()).select_from(OutingTally)):
            return None
    rng = random.Random(11)
    antenna, now = context.antenna_id, context.now
    start = now - timedelta(days=DAYS)

    def who(user: str, role: str, organisation: str) -> Identity:
        return Identity(user, role, organisation, (antenna,))

    def run(command: Callable[..., dict[str, Any]], at: datetime, *args: Any,
            **kwargs: Any) -> dict[str, Any]:
        uow: UnitOfWork
        with database.unit_of_work() as uow:
            return command(uow, *args, at, **kwargs)

    workers = [(who(user, "street_worker", "street_work"), place)
               for user, place in STREET_WORKERS]
    mediator = who("mediator", "mediator", "social_mediation")
    adviser = who("techno", "techno_adviser", "technoprevention")
    desk = who("desk", "desk", "antenna_desk")
    coordinator = who("coordinator", "coordinator", "prevention_service")
    counts = dict.fromkeys(("outings", "accompaniments", "concertations", "notes",
                            "mediations", "visits"), 0)

    for worker, place in workers:   # each is assigned a neighbourhood
        run(use_cases.assign_neighbourhood, start, worker, {"neighbourhood": place})
    # outings: two or three a week per worker, mostly in their own neighbourhood
    day = start
    while day < now - timedelta(hours=2):
        for worker, place in workers:
            if day.weekday() < 5 and rng.random() < 0.5:
                contacts = rng.randint(3, 18)
                run(use_cases.log_outing, day.replace(hour=17), worker, {
                    "neighbourhood": place if rng.random() < 0.85 else rng.choice(NEIGHBOURHOODS),
                    "contacts": contacts, "new_people": rng.randint(0, min(4, contacts)),
                    "themes": rng.sample(domain.THEMES[:6], rng.randint(1, 3))})
                counts["outings"] += 1
        day += timedelta(days=1)

    # accompaniments: about three a month, most reaching trust, some a structuring activity
    oriented_by = [r for r in context.handed_on.get("referrals", ())
                   if domain.referral_counts_as_oriented(r, "street_work")]
    for n in range(36):
        worker, place = workers[n % len(workers)]
        at = start + timedelta(days=n * 9 + rng.randint(0, 4), hours=15)
        if at >= now - timedelta(days=2):
            break
        opened = run(use_cases.open_accompaniment, at, worker, {
            "neighbourhood": place, "themes": rng.sample(domain.THEMES[:6], 2),
            "notes": "Rencontré lors d'une tournée; souhaite être revu la semaine prochaine."})
        counts["accompaniments"] += 1
        steps = [domain.FIRST_CONTACT, domain.TRUST]
        if oriented_by and n % 6 == 5:
            steps.append(domain.ORIENTED)
        if rng.random() < 0.4:
            steps.append(domain.STRUCTURING)
        for step in steps[:rng.randint(1, len(steps))]:
            at += timedelta(days=rng.randint(5, 20))
            if at >= now:
                break
            referral = oriented_by.pop() if step == domain.ORIENTED and oriented_by else None
            if step == domain.ORIENTED and referral is None:
                continue
            run(use_cases.reach_step, at, worker, opened["id"],
                {"step": step, "referral_id": referral and referral["id"]}, referral)
        at += timedelta(days=rng.randint(20, 60))
        if at < now and rng.random() < 0.6:
            outcome = domain.CONTINUED if rng.random() < 0.45 else rng.choice(
                domain.ACCOMPANIMENT_OUTCOMES[1:])
            run(use_cases.close_accompaniment, at, worker, opened["id"], {"outcome": outcome})

    # concertations: a network meeting each month, a few case concertations
    for month in range(12):
        held = (start + timedelta(days=30 * month + 10)).date()
        if held >= now.date():
            break
        case = month % 4 == 2
        present = ["street_work", "prevention_service", "cpas", "neighbourhood_houses"] \
            if not case else ["street_work", "intra_family_violence", "police_zone"]
        run(use_cases.record_concertation, datetime.combine(held, now.timetz()),
            workers[0][0] if case else coordinator, {
                "kind": domain.CASE_CONCERTATION if case else "network", "held_on": held,
                "phenomenon": "intra_family_violence" if case else "social_nuisances",
                "organisations": present,
                "decisions": "Renforcer la présence le mercredi après-midi; point en juin."
                if not case else "Orientation concertée vers le service VIF; suivi à 1 mois.",
                "legal_basis": "Art. 458ter Code pénal; protocole d'accord zonal de 2024."
                if case else None})
        counts["concertations"] += 1

    # policy notes: one each half-year
    for months_ago, title in ((10, "Logement des jeunes majeurs"),
                              (4, "Occupation de l'espace public par les jeunes")):
        filed = (now - timedelta(days=30 * months_ago)).date()
        run(use_cases.file_policy_note, datetime.combine(filed, now.timetz()), workers[0][0], {
            "filed_on": filed, "title": title, "themes": ["housing", "leisure"],
            "body": "Constats de terrain et propositions à la commune: " + title.lower() + "."})
        counts["notes"] += 1

    # neighbour mediation: the demo's neighbour-conflict incidents, and walk-ins
    incidents = context.handed_on.get("incidents", ())
    conflicts = [i for i in incidents
                 if use_cases.category_of(i) == use_cases.NEIGHBOUR_CONFLICT]
    burglaries = [i for i in incidents if use_cases.category_of(i) == use_cases.BURGLARY]
    for n in range(18):
        at = start + timedelta(days=n * 19 + 3, hours=10)
        incident = conflicts[n] if n < len(conflicts) else None
        if incident is not None:   # the day after it was reported
            at = incident["reported_at"] + timedelta(days=1)
        if at >= now - timedelta(days=1):
            continue
        place = neighbourhood_named((incident or {}).get("location", {}).get(
            "neighbourhood")) or rng.choice(NEIGHBOURHOODS)
        case = run(use_cases.open_mediation, at, mediator, {
                       "subject": rng.choice(domain.MEDIATION_SUBJECTS[:5]),
                       "neighbourhood": place, "parties": 2,
                       "incident_id": incident and incident["id"],
                       "summary": "Différend entre voisins; les deux parties acceptent une "
                                  "rencontre."}, incident=incident)
        counts["mediations"] += 1
        for _ in range(rng.randint(1, 3)):
            at += timedelta(days=rng.randint(5, 12))
            if at >= now:
                break
            run(use_cases.add_mediation_session, at, mediator, case["id"], {
                "held_on": at.date(), "parties_present": 2,
                "notes": "Échange apaisé; propositions écrites à relire."})
        at += timedelta(days=7)
        if at < now and rng.random() < 0.8:
            run(use_cases.close_mediation, at, mediator, case["id"], {"outcome": rng.choice(
                ("agreement", "agreement", "partial_agreement", "no_agreement",
                 "referred_to_court"))})

    # technoprevention: after each demo burglary, and desk requests through the year
    for n in range(24):
        burglary = burglaries[n] if n < len(burglaries) else None
        at = start + timedelta(days=n * 15 + 2, hours=9)
        if burglary is not None:   # booked at the desk as the burglary is reported
            at = burglary["reported_at"] + timedelta(minutes=20)
        if at >= now - timedelta(days=1):
            continue
        place = neighbourhood_named((burglary or {}).get("location", {}).get(
            "neighbourhood")) or rng.choice(NEIGHBOURHOODS)
        visit = run(use_cases.book_visit, at, desk if burglary or n % 2 else adviser, {
            "origin": "burglary_incident" if burglary else "desk_request",
            "incident_id": burglary and burglary["id"], "neighbourhood": place,
            "housing": rng.choice(domain.HOUSING_KINDS[:3]),
            "address": (burglary or {}).get("location", {}).get("address") or
            f"Rue de la Tulipe {n + 2}, 1050 Ixelles",
            "contact": f"+32 2 555 {10 + n:02d} {20 + n:02d}",
            "planned_for": (at + timedelta(days=6)).date()}, incident=burglary)
        counts["visits"] += 1
        at += timedelta(days=6)
        if at < now:
            run(use_cases.report_visit, at, adviser, visit["id"], {
                "recommendations": rng.sample(domain.RECOMMENDATIONS[:6], 2),
                "burglary_victim": burglary is not None,
                "report": "Porte d'entrée sans cylindre de sécurité; éclairage du jardin."})
    return (f"{counts['outings']} street-work outings, {counts['accompaniments']} "
            f"accompaniments, {counts['concertations']} concertations, {counts['notes']} "
            f"policy notes, {counts['mediations']} mediations, {counts['visits']} "
            "technoprevention visits")
