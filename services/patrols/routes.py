"""The patrols service's REST resources under /api/v1/patrols, served by the gateway
(shared.http.api): forward the request with the caller's identity; the service decides what the
caller may do and see."""
from werkzeug.wrappers import Response

from services.patrols import schemas
from shared.http import api, query_args, read_json
from shared.rpc import ServiceClient

BASE = "/api/v1/patrols"


class PatrolPlanRoutes:
    patrols = ServiceClient("patrols")

    @api("GET", f"{BASE}/posts", summary="Posts (school gates, markets, hotspots...)",
         tag="patrols", response=schemas.PostSchema, many=True)
    def list_patrol_posts(self, request, identity):
        return self.patrols.list_posts()

    @api("POST", f"{BASE}/posts", summary="Add a post (warden coordinator)", tag="patrols",
         request=schemas.NewPostSchema, response=schemas.PostSchema, status=201)
    def create_patrol_post(self, request, identity):
        return self.patrols.create_post(read_json(request))

    @api("GET", f"{BASE}/demand", summary="Demand windows", tag="patrols",
         query=schemas.DemandQuerySchema, response=schemas.DemandPageSchema)
    def list_patrol_demand(self, request, identity):
        return self.patrols.list_demand(query_args(request))

    @api("POST", f"{BASE}/demand", summary="Add a demand window (weekly or once)",
         tag="patrols", request=schemas.NewDemandSchema, response=schemas.DemandSchema,
         status=201)
    def create_patrol_demand(self, request, identity):
        return self.patrols.create_demand(read_json(request))

    @api("GET", f"{BASE}/wardens", summary="The team (leave shown to the planner, logged)",
         tag="patrols", response=schemas.WardenSchema, many=True)
    def list_patrol_wardens(self, request, identity):
        return self.patrols.list_wardens()

    @api("POST", f"{BASE}/wardens", summary="Add a warden (warden coordinator)",
         tag="patrols", request=schemas.NewWardenSchema, response=schemas.WardenSchema,
         status=201)
    def create_patrol_warden(self, request, identity):
        return self.patrols.create_warden(read_json(request))

    @api("POST", f"{BASE}/wardens/<int:warden_id>/availability",
         summary="Record days a warden is on leave", tag="patrols",
         request=schemas.LeaveSchema, response=schemas.WardenSchema, status=201)
    def record_patrol_leave(self, request, identity, warden_id):
        return self.patrols.record_leave(warden_id, read_json(request))

    @api("GET", f"{BASE}/hotspots", summary="Incidents per neighbourhood, last 28 days",
         tag="patrols", response=schemas.HotspotsSchema)
    def patrol_hotspots(self, request, identity):
        return self.patrols.hotspots()


class PatrolRosterRoutes:
    patrols = ServiceClient("patrols")

    @api("GET", f"{BASE}/rosters", summary="Rosters (draft, published, superseded)",
         tag="patrols", query=schemas.RosterQuerySchema, response=schemas.RosterPageSchema)
    def list_patrol_rosters(self, request, identity):
        return self.patrols.list_rosters(query_args(request))

    @api("POST", f"{BASE}/solve", summary="Solve a draft roster for a period (CP-SAT)",
         tag="patrols", request=schemas.SolveSchema, response=schemas.RosterSchema,
         status=201)
    def solve_patrol_roster(self, request, identity):
        return self.patrols.solve(read_json(request))

    @api("GET", f"{BASE}/rosters/<int:roster_id>",
         summary="A roster: assignments, explained gaps, score breakdown, bound",
         tag="patrols", response=schemas.RosterSchema)
    def get_patrol_roster(self, request, identity, roster_id):
        return self.patrols.get_roster(roster_id)

    @api("POST", f"{BASE}/rosters/<int:roster_id>/publish", summary="Publish a draft roster",
         tag="patrols", response=schemas.RosterSchema)
    def publish_patrol_roster(self, request, identity, roster_id):
        return self.patrols.publish_roster(roster_id)

    @api("GET", f"{BASE}/rosters/<int:roster_id>/candidates",
         summary="Who can take this shift, ranked", tag="patrols",
         query=schemas.CandidateQuerySchema, response=schemas.CandidateSchema, many=True)
    def patrol_shift_candidates(self, request, identity, roster_id):
        return self.patrols.candidates(roster_id, query_args(request))

    @api("GET", f"{BASE}/my-schedule", summary="The warden's own published shifts",
         tag="patrols", query=schemas.ScheduleQuerySchema, response=schemas.ScheduleSchema)
    def my_patrol_schedule(self, request, identity):
        return self.patrols.my_schedule(query_args(request))


class PatrolSwapRoutes:
    patrols = ServiceClient("patrols")

    @api("GET", f"{BASE}/swaps", summary="Shift swaps", tag="patrols",
         response=schemas.SwapSchema, many=True)
    def list_patrol_swaps(self, request, identity):
        return self.patrols.list_swaps()

    @api("POST", f"{BASE}/swaps", summary="Offer one of my shifts (warden)", tag="patrols",
         request=schemas.OfferSwapSchema, response=schemas.SwapSchema, status=201)
    def offer_patrol_swap(self, request, identity):
        return self.patrols.offer_swap(read_json(request))

    @api("POST", f"{BASE}/swaps/<int:swap_id>/accept", summary="Take an offered shift (warden)",
         tag="patrols", response=schemas.SwapSchema)
    def accept_patrol_swap(self, request, identity, swap_id):
        return self.patrols.accept_swap(swap_id)

    @api("POST", f"{BASE}/swaps/<int:swap_id>/decision",
         summary="Approve (rules checked) or refuse an accepted swap", tag="patrols",
         request=schemas.DecideSwapSchema, response=schemas.SwapSchema)
    def decide_patrol_swap(self, request, identity, swap_id):
        return self.patrols.decide_swap(swap_id, read_json(request))


class PatrolCalendarRoutes:
    patrols = ServiceClient("patrols")

    @api("POST", f"{BASE}/calendar-feeds",
         summary="A calendar subscription URL (own schedule, or the team's)", tag="patrols",
         request=schemas.NewFeedSchema, response=schemas.FeedSchema, status=201)
    def create_patrol_feed(self, request, identity):
        return self.patrols.create_feed(read_json(request))

    @api("POST", f"{BASE}/calendar-feeds/<int:feed_id>/revoke",
         summary="Revoke a calendar subscription URL", tag="patrols",
         response=schemas.RevokedFeedSchema)
    def revoke_patrol_feed(self, request, identity, feed_id):
        return self.patrols.revoke_feed(feed_id)

    @api("GET", f"{BASE}/calendar.ics",
         summary="An iCalendar feed (RFC 5545); the URL's secret (token) is the authorisation",
         tag="patrols", query=schemas.CalendarQuerySchema, public=True)
    def patrol_calendar(self, request, identity):
        return Response(self.patrols.calendar(query_args(request)), mimetype="text/calendar")


class PatrolLogRoutes:
    patrols = ServiceClient("patrols")

    @api("GET", f"{BASE}/logs", summary="Patrol logs (a warden's own)", tag="patrols",
         query=schemas.LogQuerySchema, response=schemas.LogPageSchema)
    def list_patrol_logs(self, request, identity):
        return self.patrols.list_logs(query_args(request))

    @api("POST", f"{BASE}/logs", summary="Log a completed patrol and its signals (warden)",
         tag="patrols", request=schemas.NewLogSchema, response=schemas.LogSchema, status=201)
    def log_patrol(self, request, identity):
        return self.patrols.log_patrol(read_json(request))


RESOURCES = (PatrolPlanRoutes, PatrolRosterRoutes, PatrolSwapRoutes, PatrolCalendarRoutes,
             PatrolLogRoutes)
