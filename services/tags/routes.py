"""The tags service's REST resources, served by the gateway (shared.http.api): forward the
request with the caller's identity; the service decides what the caller may do and see."""
from services.tags import schemas
from shared.http import api, query_args, read_json
from shared.rpc import ServiceClient


class TagJobRoutes:
    tags = ServiceClient("tags")

    @api("GET", "/api/v1/tag-jobs", summary="Removal jobs (filters, paging, open m2)",
         tag="tag-jobs", query=schemas.JobQuerySchema, response=schemas.JobPageSchema)
    def list_tag_jobs(self, request, identity):
        return self.tags.list_jobs(query_args(request))

    @api("POST", "/api/v1/tag-jobs", summary="Create a removal job directly (crew, coordinator)",
         tag="tag-jobs", request=schemas.CreateJobSchema, response=schemas.JobSchema,
         status=201)
    def create_tag_job(self, request, identity):
        return self.tags.create_job(read_json(request))

    @api("GET", "/api/v1/tag-jobs/<int:job_id>", summary="One removal job with its history",
         tag="tag-jobs", response=schemas.JobSchema)
    def get_tag_job(self, request, identity, job_id):
        return self.tags.get_job(job_id)

    @api("POST", "/api/v1/tag-jobs/<int:job_id>/assess",
         summary="Record the crew's assessment (surface, area, height, ownership, content)",
         tag="tag-jobs", request=schemas.AssessJobSchema, response=schemas.JobSchema)
    def assess_tag_job(self, request, identity, job_id):
        return self.tags.assess(job_id, read_json(request))

    @api("POST", "/api/v1/tag-jobs/<int:job_id>/consent",
         summary="Record the owner's signed waiver (private property)", tag="tag-jobs",
         request=schemas.OwnerConsentSchema, response=schemas.JobSchema)
    def consent_tag_job(self, request, identity, job_id):
        return self.tags.record_consent(job_id, read_json(request))

    @api("POST", "/api/v1/tag-jobs/<int:job_id>/schedule", summary="Schedule for a day",
         tag="tag-jobs", request=schemas.ScheduleSchema, response=schemas.JobSchema)
    def schedule_tag_job(self, request, identity, job_id):
        return self.tags.schedule(job_id, read_json(request))

    @api("POST", "/api/v1/tag-jobs/<int:job_id>/complete",
         summary="Record the removal: m2, method, minutes, crew", tag="tag-jobs",
         request=schemas.CompleteSchema, response=schemas.JobSchema)
    def complete_tag_job(self, request, identity, job_id):
        return self.tags.complete(job_id, read_json(request))

    @api("POST", "/api/v1/tag-jobs/<int:job_id>/cancel", summary="Cancel with a reason",
         tag="tag-jobs", request=schemas.CancelSchema, response=schemas.JobSchema)
    def cancel_tag_job(self, request, identity, job_id):
        return self.tags.cancel(job_id, read_json(request))

    @api("GET", "/api/v1/tag-jobs/<int:job_id>/contact-access",
         summary="Who read the owner's contact on a job's consent record (auditor)",
         tag="tag-jobs", query=schemas.OwnerContactAccessQuerySchema,
         response=schemas.OwnerContactAccessPageSchema)
    def tag_job_contact_access(self, request, identity, job_id):
        return self.tags.contact_access_log(job_id, query_args(request))


class TagPlanRoutes:
    tags = ServiceClient("tags")

    @api("GET", "/api/v1/tag-plan", summary="The crew's plan for a day, and what was left out",
         tag="tag-jobs", query=schemas.PlanQuerySchema, response=schemas.PlanSchema)
    def tag_plan(self, request, identity):
        return self.tags.plan(query_args(request))


class TagCrewRoutes:
    tags = ServiceClient("tags")

    @api("GET", "/api/v1/tag-crew", summary="The crew: members and their coming absences",
         tag="tag-crew", response=schemas.CrewMemberSchema, many=True)
    def list_tag_crew(self, request, identity):
        return self.tags.list_crew()

    @api("POST", "/api/v1/tag-crew", summary="Add a member to the crew (coordinator)",
         tag="tag-crew", request=schemas.NewCrewMemberSchema,
         response=schemas.CrewMemberSchema, status=201)
    def add_tag_crew_member(self, request, identity):
        return self.tags.add_crew_member(read_json(request))

    @api("POST", "/api/v1/tag-crew/<int:member_id>/deactivate",
         summary="A member leaves the crew (coordinator)", tag="tag-crew",
         request=schemas.DeactivateSchema, response=schemas.CrewMemberSchema)
    def deactivate_tag_crew_member(self, request, identity, member_id):
        return self.tags.deactivate_crew_member(member_id, read_json(request))

    @api("POST", "/api/v1/tag-crew/<int:member_id>/absences",
         summary="Record days a member is away (coordinator)", tag="tag-crew",
         request=schemas.AbsenceSchema, response=schemas.CrewMemberSchema, status=201)
    def record_tag_crew_absence(self, request, identity, member_id):
        return self.tags.record_absence(member_id, read_json(request))


RESOURCES = (TagJobRoutes, TagPlanRoutes, TagCrewRoutes)
