"""The demo antenna's referrals: between several partners, at every stage of their lifecycle,
sent and answered by the demo accounts, through the same use cases as the API."""
from datetime import timedelta

from sqlalchemy import func, select

from services.referrals import use_cases
from services.referrals.models import Referral
from services.referrals.reference import directory_reference
from shared.db import Database
from shared.identity import Identity
from shared.spec import DemoContext

# receiving service -> the demo account that answers for it (None: a member of its staff)
RECEIVERS = {"addiction_outreach": "addiction", "ifv_support": "ifv", "tenant_advice": "housing",
             "youth_house": None, "social_service": None, "neighbour_mediation": None}
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


def seed_demo(referrals_db: Database, context: DemoContext) -> str | None:
    """Skipped if any referral exists."""
    with referrals_db.session() as session:
        if session.scalar(select(func.count()).select_from(Referral)):
            return None
    accounts, antenna_id, today = context.accounts, context.antenna_id, context.now
    made = []   # each referral as it ended up, handed on (the prevention demo cites them)
    for n, (sender, service, subject, reason, urgency, message, basis, steps, days) in \
            enumerate(DEMO_REFERRALS, start=1):
        role, organisation = accounts[sender]
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
            view = use_cases.send(uow, Identity(sender, role, organisation, (antenna_id,)),
                                  body, at)
            referral_id = view["id"]
        receiver_org = organisation_of(service)
        receiver = RECEIVERS.get(service)
        acting = Identity(receiver or f"{receiver_org}-staff",
                          accounts[receiver][0] if receiver else "mediator", receiver_org,
                          (antenna_id,))
        for step in steps:
            at += timedelta(days=1, hours=2)
            with referrals_db.unit_of_work() as uow:
                if step == "accept":
                    view = use_cases.accept(uow, acting, referral_id, {}, at)
                elif step == "contact-made":
                    view = use_cases.contact_made(uow, acting, referral_id, {}, at)
                elif step == "decline":
                    view = use_cases.decline(uow, acting, referral_id, {
                        "reason": "Situation suivie par un autre service."}, at)
                else:
                    view = use_cases.close(uow, acting, referral_id, {"outcome": step}, at)
        made.append({key: view[key] for key in ("id", "sender_org", "subject", "reason",
                                                "status", "successful")})
    context.handed_on["referrals"] = made
    return f"{len(DEMO_REFERRALS)} referrals"


def organisation_of(service_code: str) -> str:
    """The organisation offering a service of the shipped partners directory."""
    return next(o["organisation"] for o in directory_reference()
                for s in o["services"] if s["code"] == service_code)
