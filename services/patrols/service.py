"""nameko entrypoints of the patrols service. Every RPC: who is calling, may they do this at all
(before the body is read), validate, use case or view, serialise. The `incident_reported`
handler counts incidents per neighbourhood for the hotspot weights, believing only what the
incidents service confirms."""

from services.patrols import schemas, use_cases, views
from services.patrols.models import metadata
from services.patrols.reference import AUTHORITIES
from shared.config import ConfigurationError, Setting
from shared.db import Database
from shared.dependencies import CallerIdentity, Clock, EntrypointMetrics
from shared.errors import NotFound, validated
from shared.handlers import DeadLetters, Rejected, idempotent_handler
from shared.ops import ops_service
from shared.rpc import ServiceClient, deadline, rpc

SCHOOL_CALENDAR = Setting("LISA_PATROLS_SCHOOL_CALENDAR", "fwb",
                          "school holidays the school-gate demand skips: fwb (Fédération "
                          "Wallonie-Bruxelles) or vl (Vlaamse Gemeenschap)")

POST, POSTS, NEW_POST = schemas.PostSchema(), schemas.PostSchema(many=True), \
    schemas.NewPostSchema()
DEMAND, NEW_DEMAND = schemas.DemandSchema(), schemas.NewDemandSchema()
DEMAND_QUERY, DEMAND_PAGE = schemas.DemandQuerySchema(), schemas.DemandPageSchema()
WARDEN, WARDENS, NEW_WARDEN = schemas.WardenSchema(), schemas.WardenSchema(many=True), \
    schemas.NewWardenSchema()
LEAVE = schemas.LeaveSchema()
SOLVE, ROSTER = schemas.SolveSchema(), schemas.RosterSchema()
ROSTER_QUERY, ROSTER_PAGE = schemas.RosterQuerySchema(), schemas.RosterPageSchema()
CANDIDATE_QUERY, CANDIDATES = schemas.CandidateQuerySchema(), \
    schemas.CandidateSchema(many=True)
SCHEDULE_QUERY, SCHEDULE = schemas.ScheduleQuerySchema(), schemas.ScheduleSchema()
OFFER, DECIDE = schemas.OfferSwapSchema(), schemas.DecideSwapSchema()
SWAP, SWAPS = schemas.SwapSchema(), schemas.SwapSchema(many=True)
NEW_FEED, FEED, REVOKED = schemas.NewFeedSchema(), schemas.FeedSchema(), \
    schemas.RevokedFeedSchema()
NEW_LOG, LOG = schemas.NewLogSchema(), schemas.LogSchema()
LOG_QUERY, LOG_PAGE = schemas.LogQuerySchema(), schemas.LogPageSchema()
HOTSPOTS = schemas.HotspotsSchema()
CALENDAR_QUERY = schemas.CalendarQuerySchema()


def school_authority() -> str:
    authority = SCHOOL_CALENDAR.text() or "fwb"
    if authority not in AUTHORITIES:
        raise ConfigurationError(f"{SCHOOL_CALENDAR.variable} must be one of {AUTHORITIES}, "
                                 f"not {authority!r}.")
    return authority


class PatrolsService:
    name = "patrols"

    db = Database(metadata, relay=True, gauges=views.gauges)  # read at each scrape
    caller = CallerIdentity()
    clock = Clock()
    metrics = EntrypointMetrics()
    dead_letters = DeadLetters()
    incidents = ServiceClient("incidents")

    # -- incidents' events: hotspot weights ------------------------------------------------------
    @idempotent_handler("incidents", "incident_reported")
    def on_incident_reported(self, event):
        """Counted only as the incidents service has it (antenna, ticket, neighbourhood)."""
        self.caller.act_as_service()
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
        facts = {"incident_id": incident["id"],
                 "neighbourhood": incident.get("location", {}).get("neighbourhood")
                 or event.payload.get("neighbourhood"),
                 "reported_at": event.payload["reported_at"]}
        return lambda uow: use_cases.count_hotspot_incident(uow, event.antenna_id, facts)

    @rpc
    def observation_facts(self, observation_id):
        """For the incidents service checking an `observation_logged` event."""
        identity = self.caller.current
        with self.db.session() as session:
            return views.observation_facts(session, identity, observation_id)

    # -- posts, demand, wardens -----------------------------------------------------------------
    @rpc
    def list_posts(self):
        identity = self.caller.current
        with self.db.session() as session:
            return POSTS.dump(views.list_posts(session, identity))

    @rpc
    def create_post(self, payload):
        identity = self.caller.current
        use_cases.authorise_plan(identity)
        data = validated(NEW_POST, payload)
        with self.db.unit_of_work() as uow:
            return POST.dump(use_cases.create_post(uow, identity, data))

    @rpc
    def list_demand(self, query):
        identity = self.caller.current
        views.authorise_read(identity)
        data = validated(DEMAND_QUERY, query)
        with self.db.session() as session:
            return DEMAND_PAGE.dump(views.list_demand(session, identity, data))

    @rpc
    def create_demand(self, payload):
        identity = self.caller.current
        use_cases.authorise_plan(identity)
        data = validated(NEW_DEMAND, payload)
        with self.db.unit_of_work() as uow:
            return DEMAND.dump(use_cases.create_demand(uow, identity, data))

    @rpc
    def list_wardens(self):
        identity = self.caller.current
        views.authorise_read(identity)
        with self.db.unit_of_work() as uow:
            found = views.list_wardens_with_leave_logged(uow.session, identity, self.clock())
            uow.commit()   # the access log of the leave read
        return WARDENS.dump(found)

    @rpc
    def create_warden(self, payload):
        identity = self.caller.current
        use_cases.authorise_plan(identity)
        data = validated(NEW_WARDEN, payload)
        with self.db.unit_of_work() as uow:
            return WARDEN.dump(use_cases.create_warden(uow, identity, data))

    @rpc
    def record_leave(self, warden_id, payload):
        identity = self.caller.current
        use_cases.authorise_plan(identity)
        data = validated(LEAVE, payload)
        with self.db.unit_of_work() as uow:
            return WARDEN.dump(use_cases.record_leave(uow, identity, warden_id, data,
                                                      self.clock()))

    # -- rosters --------------------------------------------------------------------------------
    @rpc
    def solve(self, payload):
        identity = self.caller.current
        use_cases.authorise_plan(identity)
        data = validated(SOLVE, payload)
        with self.db.unit_of_work() as uow:
            return ROSTER.dump(use_cases.solve(uow, identity, data, self.clock(),
                                               school_authority()))

    @rpc
    def publish_roster(self, roster_id):
        identity = self.caller.current
        use_cases.authorise_plan(identity)
        with self.db.unit_of_work() as uow:
            view = use_cases.publish(uow, identity, roster_id, self.clock(), school_authority())
        return ROSTER.dump(view)

    @rpc
    def list_rosters(self, query):
        identity = self.caller.current
        views.authorise_read(identity)
        data = validated(ROSTER_QUERY, query)
        with self.db.session() as session:
            return ROSTER_PAGE.dump(views.list_rosters(session, identity, data))

    @rpc
    def get_roster(self, roster_id):
        identity = self.caller.current
        with self.db.session() as session:
            return ROSTER.dump(views.get_roster(session, identity, roster_id))

    @rpc
    def candidates(self, roster_id, query):
        identity = self.caller.current
        views.authorise_read(identity)
        data = validated(CANDIDATE_QUERY, query)
        with self.db.session() as session:
            return CANDIDATES.dump(views.candidates(session, identity, roster_id,
                                                    data["slot_id"], self.clock(),
                                                    school_authority()))

    @rpc
    def my_schedule(self, query):
        identity = self.caller.current
        data = validated(SCHEDULE_QUERY, query)
        with self.db.session() as session:
            return SCHEDULE.dump(views.my_schedule(session, identity, data["first_day"],
                                                   data["last_day"]))

    # -- swaps ----------------------------------------------------------------------------------
    @rpc
    def list_swaps(self):
        identity = self.caller.current
        with self.db.session() as session:
            return SWAPS.dump(views.list_swaps(session, identity))

    @rpc
    def offer_swap(self, payload):
        identity = self.caller.current
        use_cases.authorise_warden(identity)
        data = validated(OFFER, payload)
        with self.db.unit_of_work() as uow:
            return SWAP.dump(use_cases.offer_swap(uow, identity, data, self.clock()))

    @rpc
    def accept_swap(self, swap_id):
        identity = self.caller.current
        use_cases.authorise_warden(identity)
        with self.db.unit_of_work() as uow:
            return SWAP.dump(use_cases.accept_swap(uow, identity, swap_id, self.clock(),
                                                   school_authority()))

    @rpc
    def decide_swap(self, swap_id, payload):
        identity = self.caller.current
        use_cases.authorise_plan(identity)
        data = validated(DECIDE, payload)
        with self.db.unit_of_work() as uow:
            return SWAP.dump(use_cases.decide_swap(uow, identity, swap_id, data["approve"],
                                                   self.clock(), school_authority()))

    # -- calendar feeds -------------------------------------------------------------------------
    @rpc
    def create_feed(self, payload):
        identity = self.caller.current
        data = validated(NEW_FEED, payload)
        with self.db.unit_of_work() as uow:
            return FEED.dump(use_cases.create_feed(uow, identity, data["team"], self.clock()))

    @rpc
    def revoke_feed(self, feed_id):
        identity = self.caller.current
        with self.db.unit_of_work() as uow:
            return REVOKED.dump(use_cases.revoke_feed(uow, identity, feed_id, self.clock()))

    @rpc
    def calendar(self, query):
        """The feed a subscription URL's secret names; the secret is the authorisation."""
        token = validated(CALENDAR_QUERY, query)["token"]
        with self.db.unit_of_work() as uow:
            ics = views.calendar_feed(uow.session, use_cases.token_hash(token), self.clock())
            uow.commit()   # the access log of a team feed
        return ics

    # -- patrol logs ----------------------------------------------------------------------------
    @rpc
    def log_patrol(self, payload):
        identity = self.caller.current
        use_cases.authorise_warden(identity)
        data = validated(NEW_LOG, payload)
        with self.db.unit_of_work() as uow:
            return LOG.dump(use_cases.log_patrol(uow, identity, data, self.clock()))

    @rpc
    def list_logs(self, query):
        identity = self.caller.current
        data = validated(LOG_QUERY, query)
        with self.db.session() as session:
            return LOG_PAGE.dump(views.list_logs(session, identity, data))

    @rpc
    def hotspots(self):
        identity = self.caller.current
        with self.db.session() as session:
            return HOTSPOTS.dump(views.hotspot_view(session, identity, self.clock()))


PatrolsOps = ops_service("patrols", metadata)
