"""The alert rules and the scrape configuration in deploy/prometheus/ as Prometheus itself reads
them: `promtool check rules`, the rules' unit tests (`promtool test rules`) and `promtool check
config` on the configuration generated from the registry. promtool comes with Debian's
`prometheus` package; outside CI a missing promtool skips these tests, in CI it fails them."""
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import IN_CI

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULES = sorted((DEPLOY / "rules").glob("*.yml"))
RULE_TESTS = sorted((DEPLOY / "tests").glob("*.yml"))


def promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    message = "promtool is not installed (apt-get install prometheus)"
    if IN_CI:
        pytest.fail(message + "; CI must check the alert rules")
    pytest.skip(message + "; the alert rules are not checked")


def run(*args: str, cwd: Path = DEPLOY) -> str:
    result = subprocess.run([promtool(), *args], capture_output=True, text=True, cwd=cwd,
                            timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def test_the_rule_files_are_valid():
    assert RULES, "no rule files in deploy/prometheus/rules/"
    run("check", "rules", *map(str, RULES))


def test_the_rules_pass_their_unit_tests():
    assert RULE_TESTS, "no rule tests in deploy/prometheus/tests/"
    output = run("test", "rules", *map(str, RULE_TESTS))
    assert "SUCCESS" in output


def test_every_alert_has_a_unit_test_that_expects_it_to_fire():
    alerts = {rule["alert"] for path in RULES
              for group in yaml.safe_load(path.read_text())["groups"]
              for rule in group["rules"] if "alert" in rule}
    firing = {case["alertname"] for path in RULE_TESTS
              for test in yaml.safe_load(path.read_text())["tests"]
              for case in test.get("alert_rule_test", []) if case["exp_alerts"]}
    assert alerts and alerts <= firing, f"alerts never shown firing: {alerts - firing}"
    for path in RULE_TESTS:  # the tests read the committed rule files, not a copy
        listed = {(path.parent / name).resolve()
                  for name in yaml.safe_load(path.read_text())["rule_files"]}
        assert listed == {rule.resolve() for rule in RULES}


def test_the_generated_scrape_configuration_is_valid_and_loads_the_rules():
    # `check config` also checks each rule file the configuration names, relative to it
    output = run("check", "config", "prometheus.yml")
    for rule in RULES:
        assert f"rules/{rule.name}" in output, output
