"""nameko entrypoints of the prevention service. Every RPC: who is calling, may they do this at
all and see this record (before the body is read; refusals logged), validate, use case,
serialise. The permissions are checked in use_cases and views, here in the service."""
import logging

from nameko.timer import timer

from services.prevention import policy, schemas, use_cases, views
from services.prevention.models import metadata
from shared.config import Setting
from shared.db import Database
from shared.dependencies import CallerIdentity, Clock, EntrypointMetrics
from shared.errors import Forbidden, NotFound, validated
from shared.handlers import DeadLetters, Rejected, idempotent_handler
from shared.ops import ops_service
from shared.rpc import ServiceClient, deadline, rpc

log = logging.getLogger(__name__)

PURGE_DAYS = Setting("LISA_PREVENTION_PURGE_DAYS", "365",
                     "days after a follow-up, mediation case or visit ended when its sealed "
                     "text (notes, summaries, address, report) is erased")

OUTING = schemas.LogOutingSchema()
TALLY = schemas.TallySchema()
TALLIES = schemas.TallyPageSchema()
ASSIGNMENT = schemas.StreetWorkAssignmentSchema()
OPEN = schemas.OpenAccompanimentSchema()
STEP = schemas.AccompanimentStepSchema()
CLOSE = schemas.CloseAccompanimentSchema()
ACCOMPANIMENT = schemas.AccompanimentSchema()
ACCOMPANIMENTS = schemas.AccompanimentPageSchema()
CONCERTATION_IN = schemas.ConcertationSchema()
CONCERTATION = schemas.ConcertationViewSchema()
CONCERTATIONS = schemas.ConcertationPageSchema()
NOTE_IN = schemas.PolicyNoteSchema()
NOTE = schemas.PolicyNoteViewSchema()
NOTES = schemas.PolicyNotePageSchema()
MEDIATION_IN = schemas.OpenMediationSchema()
SESSION = schemas.MediationSessionSchema()
CLOSE_MEDIATION = schemas.CloseMediationSchema()
MEDIATION = schemas.MediationCaseSchema()
MEDIATIONS = schemas.MediationCasePageSchema()
BOOK = schemas.BookVisitSchema()
REPORT = schemas.VisitReportSchema()
CANCEL = schemas.CancelVisitSchema()
VISIT = schemas.VisitViewSchema()
VISITS = schemas.VisitPageSchema()
QUERY = schemas.PreventionListQuerySchema()
FIGURES_QUERY = schemas.PreventionFiguresQuerySchema()
FIGURES = schemas.PreventionFiguresSchema()
LOG_QUERY = schemas.PreventionAccessLogQuerySchema()
LOG = schemas.AccessLogPageSchema()


class PreventionService:
    name = "prevention"

    db = Database(metadata, relay=True)
    caller = CallerIdentity()
    clock = Clock()
    metrics = EntrypointMetrics()
    referrals = ServiceClient("referrals")
    incidents = ServiceClient("incidents")
    dead_letters = DeadLetters()

    def _command(self, authorise, schema, payload, command):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            authorise(uow, identity, self.clock())
            data = validated(schema, payload)
            return command(uow, identity, data, self.clock())

    def _on_record(self, to_act_on, action, schema, number, payload, command):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            to_act_on(uow, identity, number, action, self.clock())
            data = validated(schema, payload)
            return command(uow, identity, number, data, self.clock())

    def _read(self, authorise, schema, query, read):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            if authorise is not None:
                authorise(uow, identity, self.clock())
            data = validated(schema, query)
            return read(uow, identity, data, self.clock())

    # -- street work -----------------------------------------------------------------------------
    @rpc
    def log_outing(self, payload):
        return TALLY.dump(self._command(
            lambda uow, i, now: use_cases.authorise_street_work(uow, i, "log_outing", now),
            OUTING, payload, use_cases.log_outing))

    @rpc
    def assign_neighbourhood(self, payload):
        return ASSIGNMENT.dump(self._command(
            lambda uow, i, now: use_cases.authorise_street_work(uow, i, "assign", now),
            ASSIGNMENT, payload, use_cases.assign_neighbourhood))

    @rpc
    def list_outings(self, query):
        return TALLIES.dump(self._read(
            lambda uow, i, now: use_cases.authorise_street_work(uow, i, "list", now),
            QUERY, query, views.list_tallies_logged))

    @rpc
    def open_accompaniment(self, payload):
        return ACCOMPANIMENT.dump(self._command(
            lambda uow, i, now: use_cases.authorise_street_work(uow, i, "open", now),
            OPEN, payload, use_cases.open_accompaniment))

    @rpc
    def list_accompaniments(self, query):
        return ACCOMPANIMENTS.dump(self._read(
            lambda uow, i, now: use_cases.authorise_street_work(uow, i, "list", now),
            QUERY, query, views.list_accompaniments_logged))

    @rpc
    def get_accompaniment(self, number):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            return ACCOMPANIMENT.dump(views.accompaniment_by_id_logged(
                uow, identity, number, self.clock()))

    @rpc
    def reach_step(self, number, payload):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            use_cases.accompaniment_to_act_on(uow, identity, number, "step", self.clock())
            data = validated(STEP, payload)
        referral = self._referral(data.get("referral_id"))   # no transaction open
        with self.db.unit_of_work() as uow:
            return ACCOMPANIMENT.dump(use_cases.reach_step(uow, identity, number, data,
                                                           referral, self.clock()))

    def _referral(self, referral_id):
        """The referral as the referrals service shows it to this caller (the caller's own
        identity travels with the call): None if they may not see it."""
        if referral_id is None:
            return None
        try:
            with deadline():
                return self.referrals.get(referral_id)
        except (NotFound, Forbidden):
            return None

    @rpc
    def close_accompaniment(self, number, payload):
        return ACCOMPANIMENT.dump(self._on_record(
            use_cases.accompaniment_to_act_on, "close", CLOSE, number, payload,
            use_cases.close_accompaniment))

    # -- concertations and policy notes ----------------------------------------------------------
    @rpc
    def record_concertation(self, payload):
        return CONCERTATION.dump(self._command(use_cases.authorise_concertation,
                                               CONCERTATION_IN, payload,
                                               use_cases.record_concertation))

    @rpc
    def list_concertations(self, query):
        return CONCERTATIONS.dump(self._read(None, QUERY, query, views.list_concertations))

    @rpc
    def get_concertation(self, number):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            return CONCERTATION.dump(views.concertation_by_id_logged(uow, identity, number,
                                                                     self.clock()))

    @rpc
    def file_policy_note(self, payload):
        return NOTE.dump(self._command(use_cases.authorise_policy_note, NOTE_IN, payload,
                                       use_cases.file_policy_note))

    @rpc
    def list_policy_notes(self, query):
        return NOTES.dump(self._read(None, QUERY, query, views.list_policy_notes))

    @rpc
    def figures(self, query):
        return FIGURES.dump(self._read(
            lambda uow, i, now: views.authorise(
                uow, i, policy.may_read_figures(i.role), "figures", "read", now),
            FIGURES_QUERY, query, views.figures))

    @rpc
    def access_log(self, query):
        return LOG.dump(self._read(
            lambda uow, i, now: views.authorise(
                uow, i, policy.may_read_access_log(i.role), "access_log", "read", now),
            LOG_QUERY, query, views.access_log_page))

    # -- mediation -------------------------------------------------------------------------------
    def _with_incident(self, authorise, schema, payload, command):
        """A command that may name an incident: authorised and validated first, then the
        incident read from its owner (no transaction open), then the command."""
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            authorise(uow, identity, self.clock())
            data = validated(schema, payload)
        incident = self._incident(data.get("incident_id"))
        with self.db.unit_of_work() as uow:
            return command(uow, identity, data, self.clock(), incident)

    def _incident(self, incident_id):
        """The incident as the incidents service has it, read with this service's own identity
        (it reads places, never the citizen); None if there is no such incident."""
        if incident_id is None:
            return None
        self.caller.act_as_service()
        try:
            with deadline():
                return self.incidents.get(incident_id)
        except (NotFound, Forbidden):
            return None

    @timer(interval=3600)
    def purge_ended_records(self):
        with self.db.unit_of_work() as uow:
            purged = use_cases.purge(uow, self.clock(), PURGE_DAYS.integer())
        if purged:
            log.info("prevention: sealed text of %d ended records erased", purged)

    # -- incidents' events -----------------------------------------------------------------------
    @idempotent_handler("incidents", "incident_reported")
    def on_incident_reported(self, event):
        """A neighbour conflict opens a case for its mediation service. The event only says so:
        the incident is read from its owner, and must be what the event claims."""
        if event.payload["category"] != use_cases.NEIGHBOUR_CONFLICT:
            return None
        incident = self._incident(event.payload["incident_id"])
        if incident is None or incident["antenna_id"] != event.antenna_id or \
                incident["ticket"] != event.payload["ticket"] or \
                use_cases.category_of(incident) != use_cases.NEIGHBOUR_CONFLICT:
            raise Rejected(f"incident {event.payload['incident_id']} is not a neighbour "
                           f"conflict {event.payload['ticket']} of {event.antenna_id!r}")
        return lambda uow: use_cases.open_mediation_for_incident(uow, incident, self.clock())

    # -- mediation -------------------------------------------------------------------------------
    @rpc
    def open_mediation(self, payload):
        return MEDIATION.dump(self._with_incident(
            lambda uow, i, now: use_cases.authorise_mediation(uow, i, "open", now),
            MEDIATION_IN, payload, use_cases.open_mediation))

    @rpc
    def list_mediations(self, query):
        return MEDIATIONS.dump(self._read(
            lambda uow, i, now: use_cases.authorise_mediation(uow, i, "list", now),
            QUERY, query, views.list_mediations_logged))

    @rpc
    def get_mediation(self, number):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            return MEDIATION.dump(views.mediation_by_id_logged(uow, identity, number,
                                                               self.clock()))

    @rpc
    def add_mediation_session(self, number, payload):
        return MEDIATION.dump(self._on_record(
            use_cases.mediation_to_act_on, "session", SESSION, number, payload,
            use_cases.add_mediation_session))

    @rpc
    def close_mediation(self, number, payload):
        return MEDIATION.dump(self._on_record(
            use_cases.mediation_to_act_on, "close", CLOSE_MEDIATION, number, payload,
            use_cases.close_mediation))

    # -- technoprevention ------------------------------------------------------------------------
    @rpc
    def book_visit(self, payload):
        return VISIT.dump(self._with_incident(use_cases.authorise_booking, BOOK, payload,
                                              use_cases.book_visit))

    @rpc
    def list_visits(self, query):
        return VISITS.dump(self._read(
            lambda uow, i, now: views.authorise(
                uow, i, policy.may_work_visits(i.role), "visit", "list", now),
            QUERY, query, views.list_visits_logged))

    @rpc
    def get_visit(self, number):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            return VISIT.dump(views.visit_by_id_logged(uow, identity, number, self.clock()))

    @rpc
    def report_visit(self, number, payload):
        return VISIT.dump(self._on_record(use_cases.visit_to_act_on, "report", REPORT, number,
                                          payload, use_cases.report_visit))

    @rpc
    def cancel_visit(self, number, payload):
        return VISIT.dump(self._on_record(use_cases.visit_to_act_on, "cancel", CANCEL, number,
                                          payload, use_cases.cancel_visit))


PreventionOps = ops_service("prevention", metadata)
