import warnings

from lisa import platform
from services.gateway.openapi import build_spec


def test_every_api_route_is_documented_once_without_name_clashes():
    routes = platform.api_routes()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # apispec warns when two schemas clash
        spec = build_spec(routes)
    documented = {(method.upper(), path) for path, ops in spec["paths"].items()
                  for method in ops}
    api_routes = {(r.method, r.path.replace("<int:", "{").replace("<", "{").replace(">", "}"))
                  for r in routes if r.path.startswith("/api/v1/") and "openapi" not in r.path}
    assert api_routes == documented
    for ops in spec["paths"].values():
        for operation in ops.values():
            assert "422" in operation["responses"] and "401" in operation["responses"]
