"""Logs carry the event being processed, metrics render, and the probes answer over HTTP.

The HTTP tests open a loopback socket on a free port; nothing leaves the machine.
"""

import io
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import pytest
from pydantic import SecretStr

from backorder_worker.observability.health_server import HealthServer
from backorder_worker.observability.logs import configure_logging, log_context
from backorder_worker.observability.metrics import Metrics
from backorder_worker.observability.progress import LoopProgress, stall_after_s
from backorder_worker.settings import Settings


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, object]]]]:
    """Routes logging to a buffer as JSON and returns a reader of the lines written."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_logging("DEBUG", json=True, stream=buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_log_lines_carry_the_context_of_the_event_being_processed(
    log_lines: Callable[[], list[dict[str, object]]],
) -> None:
    log = logging.getLogger("backorder_worker.test")
    with log_context(event_id="7d1c", topic="stock-stowed", partition=2, offset=41):
        log.info("applied %s", "stock.stowed", extra={"shipments": 3})
    log.info("outside")
    inside, outside = log_lines()
    assert inside == {
        "ts": inside["ts"],
        "level": "INFO",
        "logger": "backorder_worker.test",
        "msg": "applied stock.stowed",
        "event_id": "7d1c",
        "topic": "stock-stowed",
        "partition": 2,
        "offset": 41,
        "shipments": 3,
    }
    assert str(inside["ts"]).endswith("+00:00")
    assert "event_id" not in outside


def test_nested_log_contexts_merge_and_restore_on_exit(
    log_lines: Callable[[], list[dict[str, object]]],
) -> None:
    log = logging.getLogger("backorder_worker.test")
    with log_context(topic="shipments"):
        with log_context(event_id="e-1"):
            log.info("inner")
        log.info("outer")
    inner, outer = log_lines()
    assert (inner["topic"], inner["event_id"]) == ("shipments", "e-1")
    assert outer["topic"] == "shipments" and "event_id" not in outer


def test_logged_objects_are_never_dumped_so_settings_and_secrets_stay_out_of_the_logs(
    log_lines: Callable[[], list[dict[str, object]]],
) -> None:
    settings = Settings.model_validate({"redis": {"url": "redis://:hunter2@cache:6379/0"}})
    logging.getLogger("backorder_worker.test").warning(
        "starting", extra={"settings": settings, "password": SecretStr("hunter2")}
    )
    [line] = log_lines()
    assert line["settings"] == "<Settings>"
    assert line["password"] == "**********"
    assert "hunter2" not in json.dumps(line)


def test_an_exception_is_logged_with_its_traceback_on_the_same_json_line(
    log_lines: Callable[[], list[dict[str, object]]],
) -> None:
    try:
        raise ValueError("bad quantity")
    except ValueError:
        logging.getLogger("backorder_worker.test").exception("handler failed")
    [line] = log_lines()
    assert "ValueError: bad quantity" in str(line["exc"])


def test_metrics_render_in_prometheus_text_with_the_backorder_prefix() -> None:
    metrics = Metrics()
    metrics.count_event("stock-stowed", "stock.stowed", "applied")
    metrics.count_release("CURRENT_AND_FUTURE")
    metrics.count_dead_letter("SchemaViolation")
    with metrics.processing("event").time():
        pass
    metrics.batch_size.observe(12)
    text = metrics.render().decode()
    assert (
        'backorder_events_total{outcome="applied",topic="stock-stowed",type="stock.stowed"} 1.0'
        in text
    )
    assert 'backorder_releases_total{release="CURRENT_AND_FUTURE"} 1.0' in text
    assert 'backorder_processing_seconds_count{scope="event"} 1.0' in text
    metric_names = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    # Besides ours, only the standard collectors' families (issue 13): process_*, python_*.
    ours = {name for name in metric_names if not name.startswith(("process_", "python_"))}
    assert ours and all(name.startswith("backorder_") for name in ours)
    assert {"process_cpu_seconds_total", "python_info"} <= metric_names - ours


def test_two_metrics_instances_count_separately() -> None:
    first, second = Metrics(), Metrics()
    first.count_event("shipments", "shipment.created", "duplicate")
    labels = {"topic": "shipments", "type": "shipment.created", "outcome": "duplicate"}
    assert first.registry.get_sample_value("backorder_events_total", labels) == 1
    assert second.registry.get_sample_value("backorder_events_total", labels) is None


def test_consumer_lag_forgets_partitions_revoked_in_a_rebalance() -> None:
    metrics = Metrics()
    metrics.set_consumer_lag({("shipments", 0): 5, ("shipments", 1): 7})
    metrics.set_consumer_lag({("shipments", 1): 2})
    sample = metrics.registry.get_sample_value
    assert sample("backorder_consumer_lag", {"topic": "shipments", "partition": "0"}) is None
    assert sample("backorder_consumer_lag", {"topic": "shipments", "partition": "1"}) == 2
    assert sample("backorder_partitions_assigned") == 1


class Probes:
    def __init__(self) -> None:
        self.live = True
        self.ready: tuple[bool, str] = (True, "")
        self.ready_error: Exception | None = None

    def is_live(self) -> bool:
        return self.live

    def is_ready(self) -> tuple[bool, str]:
        if self.ready_error is not None:
            raise self.ready_error
        return self.ready


@pytest.fixture
def probes() -> Probes:
    return Probes()


@pytest.fixture
def server(probes: Probes) -> Iterator[HealthServer]:
    server = HealthServer(Metrics(), probes.is_live, probes.is_ready, host="127.0.0.1", port=0)
    server.start()
    yield server
    server.stop()


def _get(server: HealthServer, path: str) -> tuple[int, str]:
    url = f"http://127.0.0.1:{server.port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_health_server_answers_200_while_live_and_ready(server: HealthServer) -> None:
    assert server.port != 0
    assert _get(server, "/healthz") == (200, "ok\n")
    assert _get(server, "/readyz") == (200, "ready\n")


def test_health_server_answers_503_with_the_reason_when_not_ready_or_not_live(
    server: HealthServer, probes: Probes
) -> None:
    probes.ready = (False, "no partitions assigned")
    probes.live = False
    assert _get(server, "/readyz") == (503, "no partitions assigned\n")
    assert _get(server, "/healthz")[0] == 503


def test_a_probe_that_raises_answers_503_without_its_message(
    server: HealthServer, probes: Probes
) -> None:
    probes.ready_error = ConnectionError("postgresql://user:hunter2@db/x refused")
    status, body = _get(server, "/readyz")
    assert (status, body) == (503, "probe failed: ConnectionError\n")


def test_health_server_serves_metrics_and_404_elsewhere(server: HealthServer) -> None:
    status, body = _get(server, "/metrics")
    assert status == 200 and "backorder_redis_up" in body
    assert _get(server, "/nope")[0] == 404


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_loop_holding_partitions_is_not_live_once_it_has_not_come_round_for_the_limit() -> None:
    clock = ManualClock()
    progress = LoopProgress(stall_after_s=10.0, clock=clock)
    progress.mark(partitions=4)

    clock.now += 10.0
    assert progress.is_live() == (True, "ok")
    clock.now += 0.5
    assert progress.is_live() == (
        False,
        "poll loop stalled for 10 s holding 4 partitions (limit 10 s)",
    )
    progress.mark(partitions=4)
    assert progress.is_live() == (True, "ok")


def test_a_loop_without_partitions_is_live_however_long_it_waits() -> None:
    clock = ManualClock()
    progress = LoopProgress(stall_after_s=10.0, clock=clock)
    progress.mark(partitions=0)
    clock.now += 3600.0

    assert progress.is_live() == (True, "ok")


def test_the_stall_limit_is_the_poll_interval_and_half_again() -> None:
    assert stall_after_s(300_000) == 450.0


def test_the_liveness_reason_is_the_body_of_a_503() -> None:
    server = HealthServer(Metrics(), lambda: (False, "poll loop stalled"), lambda: (True, "ready"))

    assert server.respond("/healthz") == (503, "text/plain; charset=utf-8", b"poll loop stalled\n")
