"""Every query of the Grafana dashboards (deploy/grafana/) and every alert rule
(deploy/prometheus/rules/) names a metric a running platform really exports, with labels it
really has: a renamed metric breaks this test, not a dashboard in production."""
import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import eventually, running_platform

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
RULES = sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))
# Made by Prometheus itself, not by the platform: the target's health and the alerts' state.
FROM_PROMETHEUS = {"up": {"job", "instance"},
                   "ALERTS": {"alertname", "alertstate", "severity"}}
TARGET_LABELS = {"job", "instance"}   # Prometheus adds them to every scraped sample

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "bool", "offset", "inf", "nan"}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_SELECTOR = re.compile(r"([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_RANGE = re.compile(r"\[[^\]]*\]")
_NAME = re.compile(r"(?<![\w:.$])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()")
_LABEL = re.compile(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)")


def metrics_in(expr: str) -> dict[str, set[str]]:
    """The metric names a PromQL expression reads, each with the labels its selectors match
    on. Functions (a name before a parenthesis), keywords, label lists of by/without/on,
    ranges, strings and numbers are not metric names."""
    found: dict[str, set[str]] = {}
    without_strings = _STRING.sub('""', expr)
    for name, matchers in _SELECTOR.findall(without_strings):
        labels = set(_LABEL.findall(matchers))
        if name:
            found.setdefault(name, set()).update(labels)
        else:  # {__name__="..."} form: not used here, refuse rather than ignore it
            raise AssertionError(f"a selector without a metric name in {expr!r}")
    bare = _GROUPING.sub(" ", _RANGE.sub(" ", _SELECTOR.sub(r"\1", without_strings)))
    for name in _NAME.findall(bare):
        if name.lower() not in KEYWORDS:
            found.setdefault(name, set())
    return found


def test_the_expression_reader_finds_metrics_and_their_labels():
    expr = ('histogram_quantile(0.95, sum by (service, le) (rate(lisa_x_bucket{service=~"$s",'
            ' route="/a/{id}"}[5m]))) / on (service) group_left lisa_y > bool 0.2 '
            'and max_over_time(lisa_z[1h] offset 1d) unless up == 0')
    assert metrics_in(expr) == {"lisa_x_bucket": {"service", "route"}, "lisa_y": set(),
                                "lisa_z": set(), "up": set()}


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target and every variable of every dashboard."""
    queries = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        panels = list(board["panels"])
        for panel in list(panels):
            panels += panel.get("panels", [])   # panels inside collapsed rows
        for panel in panels:
            for target in panel.get("targets", []):
                queries.append((f"{path.name}: {panel['title']}", target["expr"]))
        for variable in board.get("templating", {}).get("list", []):
            query = variable["query"]["query"] if isinstance(variable["query"], dict) \
                else variable["query"]
            match = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", query)
            assert match, f"{path.name}: variable {variable['name']}: {query}"
            metric, label = match.groups()
            queries.append((f"{path.name}: variable {variable['name']}",
                            f'{metric}{{{label}=~".+"}}'))
    return queries


def rule_queries() -> list[tuple[str, str]]:
    return [(f"{path.name}: {rule.get('alert') or rule.get('record')}", rule["expr"])
            for path in RULES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"]]


def exported_metrics(page: str) -> dict[str, set[str] | None]:
    """Sample name -> the label names seen on it (None: declared, no sample yet)."""
    exported: dict[str, set[str] | None] = {}
    for family in text_string_to_metric_families(page):
        names = {"counter": [family.name + "_total"],
                 "histogram": [family.name + s for s in ("_bucket", "_count", "_sum")]
                 }.get(family.type, [family.name])
        for name in names:
            exported.setdefault(name, None)
        for sample in family.samples:
            seen = exported.get(sample.name) or set()
            exported[sample.name] = seen | set(sample.labels)
    return exported


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """What the embedded platform exports once it has done some work: an incident reported,
    read and triaged, its removal job made by the tags service."""
    with running_platform(tmp_path_factory.mktemp("platform")) as api:
        created = api.call("POST", "/api/v1/incidents", "desk", json={
            "category": "graffiti_public", "description": "Tags.", "channel": "desk",
            "location": {"address": "Rue de la Tulipe 12, 1050 Ixelles", "lat": 50.8338,
                         "lon": 4.3703}})
        assert created.status_code == 201, created.text
        incident_id = created.json()["incident"]["id"]
        api.call("POST", f"/api/v1/incidents/{incident_id}/triage", "coordinator", json={})
        eventually(lambda: 'lisa_tags_open_jobs{antenna="ixelles-tulipe"'
                   in api.call("GET", "/metrics").text)
        return exported_metrics(api.call("GET", "/metrics").text)


def check(where: str, expr: str, exported: dict[str, set[str] | None]) -> list[str]:
    problems = []
    for name, labels in metrics_in(expr).items():
        if name in FROM_PROMETHEUS:
            known: set[str] | None = FROM_PROMETHEUS[name]
        elif name in exported:
            known = exported[name]
        else:
            problems.append(f"{where}: {name} is not a metric the platform exports")
            continue
        if known is not None and not labels <= known | TARGET_LABELS:
            problems.append(f"{where}: {name} has no label {sorted(labels - known)}")
    return problems


def test_every_dashboard_query_names_an_exported_metric(exported):
    queries = dashboard_queries()
    assert len(DASHBOARDS) >= 2 and len(queries) > 20
    problems = [problem for where, expr in queries for problem in check(where, expr, exported)]
    assert not problems, "\n".join(problems)


def test_every_alert_rule_names_an_exported_metric(exported):
    queries = rule_queries()
    assert queries
    problems = [problem for where, expr in queries for problem in check(where, expr, exported)]
    assert not problems, "\n".join(problems)


def test_a_misspelt_metric_or_label_is_caught(exported):
    assert check("x", 'sum(rate(lisa_http_request_total[5m]))', exported) == [
        "x: lisa_http_request_total is not a metric the platform exports"]
    assert check("x", 'lisa_incidents_open{antena="a"}', exported) == [
        "x: lisa_incidents_open has no label ['antena']"]


def test_the_dashboards_use_the_provisioned_data_source():
    provisioned = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "lisa.yml").read_text())
    [source] = provisioned["datasources"]
    assert source["type"] == "prometheus"
    providers = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "lisa.yml").read_text())
    assert providers["providers"][0]["type"] == "file"
    uids = set()
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        assert board["uid"] not in uids and board["title"]
        uids.add(board["uid"])
        for panel in board["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"] == {"type": "prometheus", "uid": source["uid"]}, \
                    f"{path.name}: {panel['title']}"
