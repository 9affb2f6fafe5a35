"""deploy/grafana/backorder-worker.json: a valid dashboard whose queries name real metrics.

The metric names come from what `Metrics().render()` exposes, so renaming a metric in the
code without updating the dashboard fails here."""

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from backorder_worker.observability.metrics import Metrics
from tests.deploy.support import DASHBOARD, require_module

DATASOURCE = "${DS_PROMETHEUS}"
METRIC_NAME = re.compile(r"\bbackorder_[a-z0-9_]*[a-z0-9]")
# Grafana's variables, replaced by what they stand for before the PromQL is parsed.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$job": ".*"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return document


def exposed_series_names() -> set[str]:
    """Every series name a scrape of /metrics can carry, from the metric families the worker
    registers (labelled families render no sample until used, so their type decides)."""
    text = Metrics().render().decode("utf-8")
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(family.name + suffix for suffix in SUFFIXES[family.type])
        names.update(sample.name for sample in family.samples)
    return names


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # collapsed rows


def expressions(dashboard: dict[str, Any]) -> list[str]:
    found = [target["expr"] for panel in panels(dashboard) for target in panel.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        if variable["type"] == "query" and isinstance(query, dict):
            found.append(query["query"])
    return found


def unknown_metrics(dashboard: dict[str, Any], exposed: set[str]) -> set[str]:
    used = {name for expr in expressions(dashboard) for name in METRIC_NAME.findall(expr)}
    return used - exposed


def promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"an unknown Grafana variable in {expr}"
    return expr


def test_the_exposition_has_the_metric_families_of_the_code() -> None:
    names = exposed_series_names()

    assert {"backorder_events_total", "backorder_processing_seconds_bucket"} <= names
    assert "backorder_events" not in names, "counters are exposed with _total"


def test_every_metric_the_dashboard_queries_is_exposed_by_the_worker(
    dashboard: dict[str, Any],
) -> None:
    assert unknown_metrics(dashboard, exposed_series_names()) == set()


def test_a_renamed_metric_would_be_caught(dashboard: dict[str, Any]) -> None:
    exposed = exposed_series_names() - {"backorder_consumer_lag"}

    assert unknown_metrics(dashboard, exposed) == {"backorder_consumer_lag"}


def test_every_query_is_valid_promql(dashboard: dict[str, Any]) -> None:
    promql_parser = require_module("promql_parser", "promql-parser")

    for expr in expressions(dashboard):
        if expr.startswith("label_values("):  # Grafana's variable query, not PromQL
            continue
        promql_parser.parse(promql(expr))


def test_the_promql_check_rejects_a_broken_query() -> None:
    promql_parser = require_module("promql_parser", "promql-parser")

    with pytest.raises(ValueError):
        promql_parser.parse(promql("sum(rate(backorder_events_total[$__rate_interval])"))


def test_the_metric_names_found_by_text_are_those_the_parser_sees(
    dashboard: dict[str, Any],
) -> None:
    promql_parser = require_module("promql_parser", "promql-parser")
    parsed: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            parsed.add(node.name)

    for expr in expressions(dashboard):
        if not expr.startswith("label_values("):
            promql_parser.walk(promql_parser.parse(promql(expr)), collect)
    textual = {name for expr in expressions(dashboard) for name in METRIC_NAME.findall(expr)}

    assert parsed == textual


def test_the_dashboard_uses_the_ds_prometheus_datasource_variable(
    dashboard: dict[str, Any],
) -> None:
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}

    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    assert 38 <= dashboard["schemaVersion"] <= 41
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": DATASOURCE}
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == DATASOURCE


def test_panel_ids_are_unique_and_panels_do_not_overlap(dashboard: dict[str, Any]) -> None:
    all_panels = list(panels(dashboard))
    cells: dict[tuple[int, int], int] = {}

    assert len({panel["id"] for panel in all_panels}) == len(all_panels)
    for panel in all_panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"panels {cells.get((x, y))} and {panel['id']} overlap"
                cells[(x, y)] = panel["id"]


@pytest.mark.parametrize(
    ("title", "metric"),
    [
        ("Events/s by outcome", "backorder_events_total"),
        ("Releases/s by kind", "backorder_releases_total"),
        ("Still-unroutable/s", "backorder_unroutable_total"),
        ("Dead letters/s by error_type", "backorder_dead_letters_total"),
        ("Waiting room size", "backorder_waiting_shipments"),
        ("Oldest waiting age", "backorder_oldest_waiting_age_seconds"),
        ("Processing latency p50 / p99 by scope", "backorder_processing_seconds_bucket"),
        ("Consumer lag by partition", "backorder_consumer_lag"),
        ("Outbox backlog and oldest age", "backorder_outbox_backlog"),
        ("Outbox backlog and oldest age", "backorder_outbox_oldest_age_seconds"),
        ("Redis up by replica", "backorder_redis_up"),
        ("Partitions assigned by replica", "backorder_partitions_assigned"),
    ],
)
def test_the_on_call_panels_are_there(dashboard: dict[str, Any], title: str, metric: str) -> None:
    (panel,) = [panel for panel in panels(dashboard) if panel["title"] == title]

    assert any(metric in target["expr"] for target in panel["targets"])
    assert panel.get("description"), "each panel tells the on-call person what it means"


def test_the_latency_panel_shows_p50_and_p99_by_scope(dashboard: dict[str, Any]) -> None:
    (panel,) = [p for p in panels(dashboard) if p["title"].startswith("Processing latency")]
    exprs = [target["expr"] for target in panel["targets"]]

    assert [expr.split(",")[0] for expr in exprs] == [
        "histogram_quantile(0.5",
        "histogram_quantile(0.99",
    ]
    assert all("by (le, scope)" in expr for expr in exprs)
