"""The graffiti crew's tablet: today's plan in route order with a map, a job's detail, the
owner's consent, before and after photos, and marking the job done with m2 and method. The tags
service's RPC, as the API calls it; photos are kept by services/gateway/web/photos.py."""
from datetime import UTC, date, datetime

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from services.gateway.web import photos
from services.gateway.web.base import (
    PageContext,
    area,
    blank_to_none,
    field_errors,
    form_of,
    number_or_text,
    page,
    schema_choices,
)
from shared import config
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.rpc import ServiceClient

AREA = area("crew", "Graffiti crew", "/crew", {"tags", "coordinator"})
COMPLETE_PATH = "/api/v1/tag-jobs/<int:job_id>/complete"


class CrewPages:
    web_tags = ServiceClient("tags")

    @page("GET", "/crew", roles=AREA.roles)
    def crew_plan(self, request, ctx):
        day = request.args.get("date") or datetime.now(UTC).date().isoformat()
        try:
            date.fromisoformat(day)
        except ValueError:
            day = datetime.now(UTC).date().isoformat()
        plan = self.web_tags.plan({"date": day})
        jobs = {job["id"]: job for job in self.web_tags.list_jobs(
            {"status": "scheduled", "limit": 200})["items"]}
        points = [{"order": v["order"], "lat": jobs[v["job_id"]]["site"]["lat"],
                   "lon": jobs[v["job_id"]]["site"]["lon"], "label": v["address"]}
                  for v in plan["visits"] if v["job_id"] in jobs
                  and jobs[v["job_id"]]["site"]["lat"] is not None]
        return ctx.render("crew/plan.html", plan=plan, day=day, points=points)

    def _job_page(self, ctx: PageContext, job_id: int, status: int = 200, errors=None,
                  values=None, failure=None):
        job = self.web_tags.get_job(job_id)
        methods = schema_choices(type(self), "POST", COMPLETE_PATH, "method")
        return ctx.render("crew/job.html", status=status, job=job, methods=methods,
                          errors=errors or {}, values=values or {}, failure=failure,
                          photo_kinds=photos.KINDS,
                          max_photo_mb=photos.max_photo_bytes() // (1024 * 1024))

    @page("GET", "/crew/jobs/<int:job_id>", roles=AREA.roles)
    def crew_job(self, request, ctx, job_id):
        return self._job_page(ctx, job_id)

    def _act(self, ctx, job_id, form, call):
        try:
            call()
        except ValidationFailed as exc:
            return self._job_page(ctx, job_id, 422, field_errors(exc, ctx.language), form,
                                  failure=ctx._(exc.message))
        except Conflict as exc:
            return self._job_page(ctx, job_id, 409, values=form, failure=ctx._(exc.message))
        return ctx.redirect(f"/crew/jobs/{job_id}")

    @page("POST", "/crew/jobs/<int:job_id>/complete", roles=AREA.roles)
    def crew_complete(self, request, ctx, job_id):
        form = form_of(request)
        minutes = number_or_text(form.get("minutes_spent"))
        payload = {"removed_m2": number_or_text(form.get("removed_m2")),
                   "method": form.get("method", ""),
                   "minutes_spent": int(minutes) if isinstance(minutes, float)
                   and minutes.is_integer() else minutes,
                   "crew": [name.strip() for name in (form.get("crew") or ctx.identity.user)
                            .split(",") if name.strip()]}
        payload = {key: value for key, value in payload.items() if value is not None}
        return self._act(ctx, job_id, form, lambda: self.web_tags.complete(job_id, payload))

    @page("POST", "/crew/jobs/<int:job_id>/consent", roles=AREA.roles)
    def crew_consent(self, request, ctx, job_id):
        form = form_of(request)
        payload = {"owner": form.get("owner", ""), "phone": blank_to_none(form.get("phone")),
                   "email": blank_to_none(form.get("email")),
                   "given_at": datetime.now(UTC).isoformat(),
                   "waiver_reference": form.get("waiver_reference", "")}
        if form.get("signed") != "yes":
            return self._job_page(ctx, job_id, 422, {"signed": [
                ctx._("The owner must have signed the waiver.")]}, form)
        return self._act(ctx, job_id, form,
                         lambda: self.web_tags.record_consent(job_id, payload))

    @page("POST", "/crew/jobs/<int:job_id>/photos", roles=AREA.roles,
          max_body_bytes=photos.max_photo_bytes() + 64 * 1024)
    def crew_photo(self, request, ctx, job_id):
        request.max_content_length = photos.max_photo_bytes() + 64 * 1024
        try:
            upload = request.files.get("photo")
            kind = request.form.get("kind", "")
        except RequestEntityTooLarge:
            return self._job_page(ctx, job_id, 413, {"photo": [
                ctx._("The photo is too large.")]})
        job = self.web_tags.get_job(job_id)   # may this user see (and change) the job?
        try:
            reference = photos.reference_for(job_id, kind)
            data = photos.clean_photo(upload.read(photos.max_photo_bytes() + 1)
                                      if upload else b"")
        except photos.PhotoRefused as exc:
            return self._job_page(ctx, job_id, 422, field_errors(exc, ctx.language),
                                  failure=ctx._(exc.message))
        target = photos.path_of(config.var_dir(), reference)
        assert target is not None
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        try:
            self.web_tags.assess(job_id, {"photos": [*job["photos"], reference]})
        except (ValidationFailed, Conflict) as exc:
            target.unlink(missing_ok=True)
            return self._job_page(ctx, job_id, 409, failure=ctx._(exc.message))
        return ctx.redirect(f"/crew/jobs/{job_id}")

    @page("GET", "/crew/jobs/<int:job_id>/photos/<kind>/<name>", roles=AREA.roles)
    def crew_photo_file(self, request, ctx, job_id, kind, name):
        reference = f"photos/{job_id}/{kind}-{name}"
        job = self.web_tags.get_job(job_id)   # the service decides who may see the job
        path = photos.path_of(config.var_dir(), reference)
        if reference not in job["photos"] or path is None or not path.is_file():
            raise NotFound("No such photo.")
        response = Response(path.read_bytes(), mimetype="image/jpeg")
        response.headers["Cache-Control"] = "private, max-age=3600"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
