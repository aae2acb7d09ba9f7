"""nameko entrypoints of the tags service (graffiti removal). Every RPC: who is calling, may
they do this at all and see this job (before the body is read), validate, use case, serialise;
event handlers create a job per graffiti incident."""
import logging

from nameko.timer import timer

from services.tags import schemas, use_cases, views
from services.tags.domain import GRAFFITI
from services.tags.models import metadata
from shared.config import Setting
from shared.db import Database
from shared.dependencies import CallerIdentity, Clock, EntrypointMetrics
from shared.errors import NotFound, validated
from shared.handlers import DeadLetters, QueueGauges, Rejected, idempotent_handler
from shared.ops import ops_service
from shared.rpc import ServiceClient, deadline, rpc

log = logging.getLogger(__name__)

# Where the crew's van starts and ends its day (the antenna).
DEPOT_LAT = Setting("LISA_ANTENNA_LAT", "50.8338", "latitude of the crew's depot (the antenna)")
DEPOT_LON = Setting("LISA_ANTENNA_LON", "4.3703", "longitude of the crew's depot")

JOB = schemas.JobSchema()
PAGE = schemas.JobPageSchema()
PLAN = schemas.PlanSchema()
CREATE = schemas.CreateJobSchema()
ASSESS = schemas.AssessJobSchema()
CONSENT = schemas.OwnerConsentSchema()
SCHEDULE = schemas.ScheduleSchema()
COMPLETE = schemas.CompleteSchema()
CANCEL = schemas.CancelSchema()
QUERY = schemas.JobQuerySchema()
PLAN_QUERY = schemas.PlanQuerySchema()
CREW = schemas.CrewMemberSchema(many=True)
CREW_MEMBER = schemas.CrewMemberSchema()
NEW_CREW_MEMBER = schemas.NewCrewMemberSchema()
DEACTIVATE = schemas.DeactivateSchema()
ABSENCE = schemas.AbsenceSchema()
ACCESS_LOG_QUERY = schemas.OwnerContactAccessQuerySchema()
ACCESS_LOG = schemas.OwnerContactAccessPageSchema()


class TagsService:
    name = "tags"

    db = Database(metadata, relay=True, gauges=views.gauges)  # read at each scrape
    caller = CallerIdentity()
    clock = Clock()
    metrics = EntrypointMetrics()
    dead_letters = DeadLetters()
    queue_gauges = QueueGauges()
    incidents = ServiceClient("incidents")

    # -- incidents' events ---------------------------------------------------------------------
    # Each event only says that something changed: the job follows the incident as the incidents
    # service has it now, read over RPC before any transaction opens, so events of one incident
    # may come in any order (each type has its own queue).
    def _follow_incident(self, event, always_ask: bool = False):
        incident_id = event.payload["incident_id"]
        if event.payload["parent_category"] != GRAFFITI and not always_ask:
            with self.db.session() as session:
                if not use_cases.follows_incident(session, incident_id):
                    return None  # neither graffiti nor ever followed: nothing to ask
        incident = self._incident_now(event)
        return lambda uow: use_cases.follow_incident(uow, incident, self.clock())

    def _incident_now(self, event) -> dict:
        """The incident from its owner, with this service's own identity; Rejected if the event
        names one that does not exist as it says."""
        self.caller.act_as_service()   # its own identity, for the antennas it serves
        try:
            with deadline():
                incident = self.incidents.incident_facts(event.payload["incident_id"])
        except NotFound:
            raise Rejected(f"incident {event.payload['incident_id']} does not exist in antenna "
                           f"{event.antenna_id!r}") from None
        if incident["antenna_id"] != event.antenna_id or \
                incident["ticket"] != event.payload["ticket"]:
            raise Rejected(f"incident {incident['id']} is {incident['ticket']} of "
                           f"{incident['antenna_id']!r}, not {event.payload['ticket']} of "
                           f"{event.antenna_id!r}")
        return incident

    @idempotent_handler("incidents", "incident_reported")
    def on_incident_reported(self, event):
        return self._follow_incident(event)

    @idempotent_handler("incidents", "incident_triaged")
    def on_incident_triaged(self, event):
        # A triage may reclassify a graffiti incident whose report another worker (or replica)
        # is handling at this moment: not followed *yet* is no proof it never will be, so ask;
        # the knowledge row's lock then orders the two (tests/integration/test_replicas.py).
        return self._follow_incident(event, always_ask=True)

    @idempotent_handler("incidents", "incident_closed")
    def on_incident_closed(self, event):
        return self._follow_incident(event)

    @rpc
    def job_facts(self, job_id):
        """For another service checking an event of a job (see use_cases.job_facts)."""
        identity = self.caller.current
        with self.db.session() as session:
            return views.job_facts(session, identity, job_id)

    # -- API ------------------------------------------------------------------------------------
    @rpc
    def list_jobs(self, query):
        identity = self.caller.current
        views.authorise_list(identity)
        data = validated(QUERY, query)
        with self.db.session() as session:
            return PAGE.dump(views.list_jobs(session, identity, data, self.clock()))

    @rpc
    def get_job(self, job_id):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            view = views.job_by_id_with_owner_contact_logged(uow.session, identity, job_id,
                                                             self.clock())
            uow.commit()  # the contact access log, if the caller read the owner's contact
        return JOB.dump(view)

    @rpc
    def create_job(self, payload):
        identity = self.caller.current
        use_cases.authorise_create(identity)
        data = validated(CREATE, payload)
        with self.db.unit_of_work() as uow:
            return JOB.dump(use_cases.create_job(uow, identity, data, self.clock()))

    def _change(self, command, schema, job_id, payload):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            use_cases.job_to_change(uow.session, identity, job_id)
            data = validated(schema, payload)
            return JOB.dump(command(uow, identity, job_id, data, self.clock()))

    @rpc
    def assess(self, job_id, payload):
        return self._change(use_cases.assess, ASSESS, job_id, payload)

    @rpc
    def record_consent(self, job_id, payload):
        return self._change(use_cases.record_consent, CONSENT, job_id, payload)

    @rpc
    def schedule(self, job_id, payload):
        return self._change(use_cases.schedule, SCHEDULE, job_id, payload)

    @rpc
    def complete(self, job_id, payload):
        return self._change(use_cases.complete, COMPLETE, job_id, payload)

    @rpc
    def cancel(self, job_id, payload):
        return self._change(use_cases.cancel, CANCEL, job_id, payload)

    @rpc
    def plan(self, query):
        identity = self.caller.current
        views.authorise_plan(identity)
        data = validated(PLAN_QUERY, query)
        with self.db.session() as session:
            return PLAN.dump(views.plan_day(session, identity, data["date"], data["crew"],
                                            (DEPOT_LAT.number(), DEPOT_LON.number()),
                                            data["anyway"]))

    @rpc
    def contact_access_log(self, job_id, query=None):
        """Who read the owner's contact on a job's consent record (auditor, admin)."""
        identity = self.caller.current
        with self.db.session() as session:
            views.job_for_contact_log(session, identity, job_id)
            data = validated(ACCESS_LOG_QUERY, query or {})
            return ACCESS_LOG.dump(views.contact_access_page(session, identity, job_id, data))

    # -- the crew -------------------------------------------------------------------------------
    @rpc
    def list_crew(self):
        identity = self.caller.current
        with self.db.session() as session:
            return CREW.dump(views.list_crew(session, identity, self.clock()))

    @rpc
    def add_crew_member(self, payload):
        identity = self.caller.current
        use_cases.authorise_crew_change(identity)
        data = validated(NEW_CREW_MEMBER, payload)
        with self.db.unit_of_work() as uow:
            return CREW_MEMBER.dump(use_cases.add_crew_member(uow, identity, data, self.clock()))

    def _change_member(self, command, schema, member_id, payload):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            use_cases.crew_member_to_change(uow.session, identity, member_id)
            data = validated(schema, payload)
            return CREW_MEMBER.dump(command(uow, identity, member_id, data, self.clock()))

    @rpc
    def deactivate_crew_member(self, member_id, payload):
        return self._change_member(use_cases.deactivate_crew_member, DEACTIVATE, member_id,
                                   payload)

    @rpc
    def record_absence(self, member_id, payload):
        return self._change_member(use_cases.record_absence, ABSENCE, member_id, payload)

    # -- timers -----------------------------------------------------------------------------------
    @timer(interval=3600)
    def remind_missing_consents(self):
        with self.db.unit_of_work() as uow:
            reminded = use_cases.remind_consents(uow, self.clock())
        if reminded:
            log.info("reminded %d jobs still waiting for the owner's consent", reminded)


TagsOps = ops_service("tags", metadata)
