"""deploy/prometheus/alerts.yaml, and what the dashboard's queries return in the cases that
used to mislead: no replica at all, and replicas run without Redis.

Always: every rule is valid PromQL (promql-parser) naming metrics the worker exposes. Where
`promtool` is installed (Debian's `prometheus` package; not a PyPI dependency, so these
skip without it, in CI too): `promtool check rules`, the rules' own unit tests
(alerts.test.yaml), and the dashboard's queries evaluated on synthetic series.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.support import DASHBOARD, DEPLOY, load_yaml, require_module
from tests.deploy.test_dashboard import METRIC_NAME, exposed_series_names, panels, promql

ALERTS = DEPLOY / "prometheus" / "alerts.yaml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts.test.yaml"


def rules() -> list[dict[str, Any]]:
    document = load_yaml(ALERTS)
    return [rule for group in document["groups"] for rule in group["rules"]]


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (apt-get install prometheus); the parser checks ran")
    return found


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=120)


def test_the_alerts_the_on_call_person_needs_are_there() -> None:
    names = {rule["alert"] for rule in rules()}

    assert {
        "BackorderConsumerLagGrowing",
        "BackorderNoProgress",
        "BackorderNoReplicaConsumes",
        "BackorderDeadLetters",
        "BackorderOutboxBacklog",
        "BackorderOverdueShipments",
    } <= names
    for rule in rules():
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_every_rule_is_valid_promql_on_metrics_the_worker_exposes() -> None:
    promql_parser = require_module("promql_parser", "promql-parser")
    exposed = exposed_series_names()

    for rule in rules():
        promql_parser.parse(rule["expr"])
        assert set(METRIC_NAME.findall(rule["expr"])) <= exposed, rule["alert"]


def test_promtool_accepts_the_rules() -> None:
    result = run_promtool("check", "rules", str(ALERTS))

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_pass_their_unit_tests() -> None:
    result = run_promtool("test", "rules", str(ALERT_TESTS))

    assert result.returncode == 0, result.stdout + result.stderr


def dashboard_expr(title: str, index: int = 0) -> str:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    (panel,) = [p for p in panels(dashboard) if p["title"] == title]
    return promql(panel["targets"][index]["expr"])


def evaluate(tmp_path: Path, series: dict[str, str], expr: str, expected: list[Any]) -> str:
    """Runs `expr` at 5m over `series` (name → promtool values) through `promtool test
    rules`; returns promtool's output, empty of failures when `expected` samples matched."""
    (tmp_path / "empty.yaml").write_text("groups: []\n")
    test = {
        "rule_files": ["empty.yaml"],
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in series.items()],
                "promql_expr_test": [{"expr": expr, "eval_time": "5m", "exp_samples": expected}],
            }
        ],
    }
    path = tmp_path / "dashboard.test.yaml"
    path.write_text(json.dumps(test))
    result = run_promtool("test", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


NO_REPLICA = {'up{job="backorder-worker", instance="a"}': "0x10"}


@pytest.mark.parametrize("title", ["Consumer lag", "Consumer lag by partition"])
def test_the_lag_panels_show_zero_not_nothing_when_no_replica_runs(
    tmp_path: Path, title: str
) -> None:
    evaluate(tmp_path, NO_REPLICA, dashboard_expr(title), [{"labels": "{}", "value": 0}])


def test_the_partition_total_shows_zero_when_no_replica_runs(tmp_path: Path) -> None:
    expr = dashboard_expr("Partitions assigned by replica", index=1)

    evaluate(tmp_path, NO_REPLICA, expr, [{"labels": "{}", "value": 0}])


WITHOUT_REDIS = {
    'backorder_redis_up{job="backorder-worker", instance="plain"}': "0x10",
    'backorder_redis_enabled{job="backorder-worker", instance="plain"}': "0x10",
    'backorder_redis_up{job="backorder-worker", instance="cut"}': "0x10",
    'backorder_redis_enabled{job="backorder-worker", instance="cut"}': "1x10",
    'backorder_redis_up{job="backorder-worker", instance="fine"}': "1x10",
    'backorder_redis_enabled{job="backorder-worker", instance="fine"}': "1x10",
}


def test_a_replica_run_without_redis_is_not_counted_as_redis_down(tmp_path: Path) -> None:
    expr = dashboard_expr("Redis down (replicas)")

    evaluate(tmp_path, WITHOUT_REDIS, expr, [{"labels": "{}", "value": 1}])


def test_a_replica_run_without_redis_has_no_redis_line(tmp_path: Path) -> None:
    expr = dashboard_expr("Redis up by replica")
    expected = [
        {"labels": '{instance="cut"}', "value": 0},
        {"labels": '{instance="fine"}', "value": 1},
    ]

    evaluate(tmp_path, WITHOUT_REDIS, expr, expected)
