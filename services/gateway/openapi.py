"""OpenAPI 3 document generated from the marshmallow schemas of the gateway's `@api` routes."""
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from services.gateway.schemas import ErrorSchema
from shared.http import Route

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
_TYPES = {"int": "integer", None: "string", "string": "string"}
ERROR_STATUSES = {
    "400": "Bad request (invalid JSON, or nested too deep)",
    "401": "Missing, unknown or expired token",
    "403": "The caller's role or organisation may not do this",
    "404": "Not found (also where existence must not leak)",
    "409": "Conflict, e.g. a forbidden state change",
    "422": "Invalid fields; `error.fields` names each problem",
    "503": "A service did not answer in time; the request was not carried out",
}
BODY_TOO_LARGE = {"413": "The body is larger than 64 KiB"}
THROTTLED = {"429": "Too many failed logins for this username or from this address; "
                    "`Retry-After` says in how many seconds to try again"}


def _schema_name(schema_cls) -> str:
    return schema_cls.__name__.removesuffix("Schema")


def _errors(statuses: dict) -> dict:
    return {code: {"description": text, "content": {"application/json": {"schema": "Error"}}}
            for code, text in statuses.items()}


def build_spec(routes: list[Route]) -> dict:
    spec = APISpec(
        title="LISA platform API", version="1.0.0", openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "REST API of the Local Integrated Security Antenna platform. "
                             "Authenticate with POST /api/v1/auth/token, then send "
                             "'Authorization: Bearer <token>'."},
        servers=[{"url": "/"}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=ErrorSchema)
    paths: dict[str, dict] = {}
    for route in routes:
        if not route.path.startswith("/api/v1/") or route.path.startswith("/api/v1/openapi"):
            continue
        parameters = [
            {"name": name, "in": "path", "required": True,
             "schema": {"type": _TYPES.get(kind, "string")}}
            for kind, name in _CONVERTER.findall(route.path)
        ]
        if route.query is not None:
            parameters.append({"in": "query", "schema": route.query})
        parameters.extend(route.headers)
        plain_path = _CONVERTER.sub(r"\2", route.path).replace("/api/v1/", "")
        operation = {
            "summary": route.summary, "tags": [route.tag],
            "operationId": f"{route.method.lower()}_{plain_path}".replace("/", "_")
            .replace("-", "_"),
            "parameters": parameters,
            "responses": _errors(ERROR_STATUSES),
        }
        if route.response is not None:
            name = _schema_name(route.response)
            if name not in spec.components.schemas:
                spec.components.schema(name, schema=route.response)
            schema = {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}} \
                if route.many else name
            operation["responses"][str(route.status)] = {
                "description": "Success", "content": {"application/json": {"schema": schema}}}
        if route.file is not None:
            operation["responses"][str(route.status)] = {
                "description": "A file", "content": {route.file: {
                    "schema": {"type": "string", "format": "binary"}}}}
        if route.request is not None:
            name = _schema_name(route.request)
            if name not in spec.components.schemas:
                spec.components.schema(name, schema=route.request)
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": name}}}
            operation["responses"].update(_errors(BODY_TOO_LARGE))
        if route.public:
            operation["security"] = []
            operation["responses"].pop("403", None)
            if route.request is not None:  # the login
                operation["responses"].update(_errors(THROTTLED))
        else:
            operation["security"] = [{"bearer": []}]
        paths.setdefault(_CONVERTER.sub(r"{\2}", route.path), {})[route.method.lower()] = \
            operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
