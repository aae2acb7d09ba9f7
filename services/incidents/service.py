"""nameko entrypoints of the incidents service. Every RPC: who is calling, may they do this at
all and see this incident (before the body is read: a refusal must not depend on, nor teach,
what a valid body looks like), validate, use case, serialise."""
import logging

from nameko.timer import timer

from services.incidents import domain, open311, schemas, use_cases, views
from services.incidents.models import metadata
from shared.config import Setting
from shared.db import Database
from shared.dependencies import CallerIdentity, Clock, EntrypointMetrics
from shared.errors import NotFound, validated
from shared.handlers import DeadLetters, QueueGauges, Rejected, idempotent_handler
from shared.ops import ops_service
from shared.rpc import ServiceClient, deadline, rpc

log = logging.getLogger(__name__)
CONTACT_RETENTION_DAYS = Setting("LISA_CONTACT_RETENTION_DAYS", "90", "days a citizen's "
                                 "contact is kept after the incident is closed (GDPR)")

# Built once: marshmallow schemas are reusable, and building one costs more than a load.
CATEGORIES = schemas.CategorySchema(many=True)
REPORT = schemas.ReportIncidentSchema()
REPORT_RESULT = schemas.ReportResultSchema()
INCIDENT = schemas.IncidentSchema()
INCIDENT_FACTS = schemas.IncidentFactsSchema()
QUERY = schemas.IncidentQuerySchema()
PAGE = schemas.IncidentPageSchema()
TRIAGE = schemas.TriageSchema()
STATUS_CHANGE = schemas.StatusChangeSchema()
HINTS_QUERY = schemas.DuplicateHintsQuerySchema()
HINTS = schemas.DuplicateHintSchema(many=True)
ACCESS_LOG_QUERY = schemas.ContactAccessQuerySchema()
ACCESS_LOG = schemas.ContactAccessPageSchema()
JOB_SCHEDULED, JOB_DONE = "scheduled", "done"  # the tags service's job statuses


class IncidentsService:
    name = "incidents"

    db = Database(metadata, relay=True, gauges=views.gauges)  # read at each scrape
    caller = CallerIdentity()
    clock = Clock()
    metrics = EntrypointMetrics()
    dead_letters = DeadLetters()
    queue_gauges = QueueGauges()
    tags = ServiceClient("tags")
    patrols = ServiceClient("patrols")

    # -- the tags service's removal jobs move graffiti incidents ----------------------------------
    # An event of a job is believed only as far as the tags service, asked with this service's
    # own identity, confirms it: the job exists, belongs to this incident and antenna, and is in
    # the state the event claims. A job that has moved on since makes its event stale: the newer
    # event decides (events of one job may come in any order).
    def _job_now(self, event) -> dict | None:
        if event.payload["incident_id"] is None:
            return None  # a job the crew made directly: no incident to move
        self.caller.act_as_service()
        try:
            with deadline():
                job = self.tags.job_facts(event.payload["job_id"])
        except NotFound:
            raise Rejected(f"removal job {event.payload['job_id']} does not exist in antenna "
                           f"{event.antenna_id!r}") from None
        if (job["incident_id"], job["antenna_id"]) != (event.payload["incident_id"],
                                                       event.antenna_id):
            raise Rejected(f"removal job {job['id']} is of incident {job['incident_id']} in "
                           f"{job['antenna_id']!r}, not of incident "
                           f"{event.payload['incident_id']} in {event.antenna_id!r}")
        return job

    @idempotent_handler("tags", "job_scheduled")
    def on_job_scheduled(self, event):
        job = self._job_now(event)
        if job is None:
            return None
        if JOB_SCHEDULED not in job["reached"]:
            raise Rejected(f"removal job {job['id']} was never scheduled")
        if job["status"] != JOB_SCHEDULED:
            return None  # done, cancelled or unplanned since: that later event decides
        note = (f"removal job {job['id']} scheduled for "
                f"{event.payload['scheduled_for'].isoformat()}")
        return lambda uow: use_cases.follow_removal_job(uow, job, domain.IN_PROGRESS, note,
                                                        self.clock())

    # -- the patrols service's observations become incidents (channel `warden`) -------------------
    @idempotent_handler("patrols", "observation_logged")
    def on_observation_logged(self, event):
        """Believed as far as the patrols service, asked with this service's own identity,
        confirms it: the observation exists, in this antenna, with this category."""
        self.caller.act_as_service()
        try:
            with deadline():
                facts = self.patrols.observation_facts(event.payload["observation_id"])
        except NotFound:
            raise Rejected(f"observation {event.payload['observation_id']} does not exist in "
                           f"antenna {event.antenna_id!r}") from None
        if (facts["antenna_id"], facts["category"], facts["log_id"]) != \
                (event.antenna_id, event.payload["category"], event.payload["log_id"]):
            raise Rejected(f"observation {facts['observation_id']} is {facts['category']} of "
                           f"log {facts['log_id']} in {facts['antenna_id']!r}, not what the "
                           "event says")
        return lambda uow: use_cases.report_observation(uow, facts, event.antenna_id,
                                                        self.clock())

    @idempotent_handler("tags", "job_completed")
    def on_job_completed(self, event):
        job = self._job_now(event)
        if job is None:
            return None
        if job["status"] != JOB_DONE:
            raise Rejected(f"removal job {job['id']} is {job['status']}, not done")
        note = f"removal job {job['id']} done: {event.payload['removed_m2']:g} m2"
        return lambda uow: use_cases.follow_removal_job(uow, job, domain.RESOLVED, note,
                                                        self.clock())

    @rpc
    def list_categories(self):
        self.caller.current  # noqa: B018  (verifies the signed caller: deny by default)
        with self.db.session() as session:
            return CATEGORIES.dump(views.list_categories(session))

    @rpc
    def report(self, payload, request_key=None):
        """`request_key`: the client's idempotency key, if it sent one; otherwise the call chain's
        origin id, which a redelivered request keeps."""
        identity = self.caller.current
        antenna = use_cases.authorise_report(identity)
        data = validated(REPORT, payload)
        use_cases.check_request_key(request_key)
        with self.db.unit_of_work() as uow:
            key = f"{identity.user}:{request_key}" if request_key else uow.correlation_id
            result = use_cases.report(uow, identity, data, self.clock(), antenna, key[:250],
                                      use_cases.request_fingerprint(payload))
        return REPORT_RESULT.dump(result)

    @rpc
    def get(self, key):
        identity = self.caller.current
        views.authorise_read(identity)
        with self.db.unit_of_work() as uow:
            view = views.incident_by_key_with_contact_logged(uow.session, identity, key,
                                                             self.clock())
            uow.commit()  # the contact access log, if the caller read the contact
        return INCIDENT.dump(view)

    @rpc
    def incident_facts(self, incident_id):
        """For a service checking an event of an incident (tags, patrols): one statement."""
        identity = self.caller.current
        with self.db.session() as session:
            return INCIDENT_FACTS.dump(views.incident_facts(session, identity, incident_id))

    @rpc
    def list(self, query):
        identity = self.caller.current
        views.authorise_read(identity)
        data = validated(QUERY, query)
        with self.db.session() as session:
            page = views.list_incidents(session, identity, data, self.clock())
        return PAGE.dump(page)

    @rpc
    def triage(self, incident_id, payload):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            use_cases.incident_to_change(uow.session, identity, incident_id)
            data = validated(TRIAGE, payload)
            view = use_cases.triage(uow, identity, incident_id, data, self.clock())
        return INCIDENT.dump(view)

    @rpc
    def change_status(self, incident_id, payload):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            use_cases.incident_to_change(uow.session, identity, incident_id)
            data = validated(STATUS_CHANGE, payload)
            view = use_cases.change_status(uow, identity, incident_id, data, self.clock())
        return INCIDENT.dump(view)

    @rpc
    def duplicate_hints(self, payload):
        views.authorise_read(self.caller.current)
        data = validated(HINTS_QUERY, payload)
        with self.db.session() as session:
            hints = views.duplicate_hints(session, data["category"], data["location"],
                                              self.clock())
        return HINTS.dump(hints)

    @rpc
    def contact_access_log(self, incident_id, query=None):
        identity = self.caller.current
        with self.db.session() as session:
            views.incident_for_contact_log(session, identity, incident_id)
            data = validated(ACCESS_LOG_QUERY, query or {})
            return ACCESS_LOG.dump(views.contact_access_page(session, identity, incident_id,
                                                             data))

    # -- Open311 GeoReport v2 (ADR 30): the gateway acts as an Open311 client (API key) or the
    # public; `jurisdiction_id` names one of the caller's antennas, none means all of them.
    @staticmethod
    def _jurisdictions(identity, jurisdiction_id):
        if jurisdiction_id is None:
            return identity.antennas
        if jurisdiction_id not in identity.antennas:
            raise NotFound(f"jurisdiction_id not found: {str(jurisdiction_id)[:64]!r}.")
        return (jurisdiction_id,)

    @rpc
    def open311_services(self, locale=None):
        identity = self.caller.current
        with self.db.session() as session:
            return views.open311_services(session, identity, open311.language(locale))

    @rpc
    def open311_service_definition(self, service_code, locale=None):
        identity = self.caller.current
        with self.db.session() as session:
            return views.open311_service_definition(session, identity, service_code,
                                                    open311.language(locale))

    @rpc
    def open311_requests(self, query, jurisdiction_id=None, locale=None):
        identity = self.caller.current
        views.authorise_open311_read(identity)
        antennas = self._jurisdictions(identity, jurisdiction_id)
        filters = open311.request_query(query, self.clock())
        with self.db.session() as session:
            return views.open311_requests(session, identity, filters, antennas,
                                          open311.language(locale))

    @rpc
    def open311_request(self, service_request_id, jurisdiction_id=None, locale=None):
        identity = self.caller.current
        views.authorise_open311_read(identity)
        antennas = self._jurisdictions(identity, jurisdiction_id)
        with self.db.session() as session:
            return views.open311_request(session, identity, service_request_id, antennas,
                                         open311.language(locale))

    @rpc
    def open311_token(self, token, jurisdiction_id=None):
        identity = self.caller.current
        views.authorise_open311_read(identity)
        antennas = self._jurisdictions(identity, jurisdiction_id)
        with self.db.session() as session:
            return views.open311_token(session, identity, token, antennas)

    @rpc
    def open311_report(self, form, jurisdiction_id=None, locale=None):
        """`form`: the POST's fields (api_key removed); a repeated field is a list."""
        identity = self.caller.current
        use_cases.authorise_open311_report(identity)
        self._jurisdictions(identity, jurisdiction_id)
        with self.db.unit_of_work() as uow:
            return use_cases.open311_report(uow, identity, form, self.clock(),
                                            open311.language(locale))

    @timer(interval=3600)
    def purge_expired_contacts(self):
        with self.db.session() as session:
            purged = use_cases.purge_contacts(session, self.clock(),
                                              CONTACT_RETENTION_DAYS.integer())
        if purged:
            log.info("erased the citizen contact of %d closed incidents", purged)


IncidentsOps = ops_service("incidents", metadata)
