"""The indicators service's REST resources, served by the gateway (shared.http.api): forward the
request with the caller's identity; the service decides who may read and set what."""
import base64

from werkzeug.wrappers import Response

from services.indicators import schemas
from shared.http import api, query_args, read_json
from shared.rpc import ServiceClient

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"


class IndicatorRoutes:
    indicators = ServiceClient("indicators")

    @api("GET", "/api/v1/indicators", summary="The indicator catalogue, with current targets",
         tag="indicators", response=schemas.AnswerSchema)
    def indicator_catalogue(self, request, identity):
        return self.indicators.list_catalogue()

    @api("GET", "/api/v1/indicators/dashboard",
         summary="Every indicator over one range, filtered (category, neighbourhood, state) "
                 "and grouped", tag="indicators", query=schemas.DashboardQuerySchema,
         response=schemas.AnswerSchema)
    def indicator_dashboard(self, request, identity):
        return self.indicators.dashboard(query_args(request))

    @api("GET", "/api/v1/indicators/evaluation",
         summary="Target against actual of every indicator for a year", tag="indicators",
         query=schemas.EvaluationQuerySchema, response=schemas.AnswerSchema)
    def indicator_evaluation(self, request, identity):
        return self.indicators.evaluation(query_args(request))

    @api("GET", "/api/v1/indicators/evaluation.xlsx",
         summary="The annual PSSP evaluation workbook (by strategic objective and phenomenon)",
         tag="indicators", query=schemas.EvaluationQuerySchema, file=XLSX)
    def indicator_evaluation_xlsx(self, request, identity):
        content = base64.b64decode(self.indicators.evaluation_xlsx(query_args(request)))
        year = request.args.get("year", "")
        return Response(content, mimetype=XLSX, headers={
            "Content-Disposition": f'attachment; filename="pssp-evaluation-{year}.xlsx"'})

    @api("GET", "/api/v1/indicators/set-aside",
         summary="Events kept aside: unknown type or schema version (operations)",
         tag="indicators", query=schemas.SetAsideQuerySchema, response=schemas.AnswerSchema)
    def indicator_events_set_aside(self, request, identity):
        return self.indicators.set_aside(query_args(request))

    @api("GET", "/api/v1/indicators/<code>/series",
         summary="One indicator's series: from, to, grain, antenna, group_by, dimension "
                 "filters", tag="indicators", query=schemas.SeriesQuerySchema,
         response=schemas.AnswerSchema)
    def indicator_series(self, request, identity, code):
        return self.indicators.series(code, query_args(request))

    @api("GET", "/api/v1/indicators/<code>/series.csv", summary="One indicator's series as CSV",
         tag="indicators", query=schemas.SeriesQuerySchema, file=CSV)
    def indicator_series_csv(self, request, identity, code):
        return Response(self.indicators.series_csv(code, query_args(request)),
                        mimetype=CSV, headers={
                            "Content-Disposition": 'attachment; filename="series.csv"'})

    @api("GET", "/api/v1/indicators/<code>/compare",
         summary="One indicator for each antenna of a commune", tag="indicators",
         query=schemas.CompareQuerySchema, response=schemas.AnswerSchema)
    def indicator_compare(self, request, identity, code):
        return self.indicators.compare(code, query_args(request))

    @api("GET", "/api/v1/indicators/<code>/target", summary="Current target and its history",
         tag="indicators", response=schemas.AnswerSchema)
    def indicator_target(self, request, identity, code):
        return self.indicators.target(code)

    @api("PUT", "/api/v1/indicators/<code>/target",
         summary="Set the current plan's target (coordinator)", tag="indicators",
         request=schemas.TargetSchema, response=schemas.AnswerSchema)
    def set_indicator_target(self, request, identity, code):
        return self.indicators.set_target(code, read_json(request))


RESOURCES = (IndicatorRoutes,)
