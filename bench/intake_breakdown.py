"""Where the intake's time goes, in one process: ``shipment.created`` (or, with ``--mix
sustained``, the sustained phase's mix) through the worker's own batch path
(``BatchProcessor`` → ``ApplyBatch`` → ``PostgresUnitOfWork``), timed by stage.

No broker: the records are the bench's intake events (``events.intake_mix``) wrapped as
consumed records, in batches of ``--batch`` (the worker's ``max_poll_records``), on a room
loaded by ``generate.load_room``. Per batch it times decoding (the wire's validation and
the envelope), the transaction, and the fast path's outbox marking (``deliver``, with a
publisher that acknowledges at once: the Kafka send is the py-spy profile's to show).
Inside the transaction: every statement (count and time, by kind, and whether a handler
issued it), the commit, the output events' encoding, and the core (``ReleaseRound.decide``,
``pool_for``). What is left of a handler is the service layer's and the store's Python.

    python -m bench.intake_breakdown --database-url URL --waiting 100000 --events 4000
    python -m bench.intake_breakdown --database-url URL --mix sustained --events 20000
    python -m bench.intake_breakdown --database-url URL --mix probes --events 200 --batch 1

``probes``: the idle-latency phase's events (a stow releasing one shipment of its own
SKU), one a batch by default: the worker's share of ``p50_idle_ms``, without the broker.

The database is migrated and truncated (``load_room``): give it one of its own.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from backorder_worker.adapters.event_codec import decision_encoder
from backorder_worker.adapters.kafka.records import SourceRecord
from backorder_worker.adapters.postgres import history
from backorder_worker.adapters.postgres import outbox as outbox_module
from backorder_worker.adapters.postgres.engine import make_engine
from backorder_worker.adapters.postgres.migrate import migrate
from backorder_worker.adapters.postgres.outbox import PostgresOutbox
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.adapters.postgres.write_behind import WriteBehind
from backorder_worker.bootstrap import utc_now
from backorder_worker.domain.model import ReleasePolicy
from backorder_worker.domain.release import ReleaseRound
from backorder_worker.entrypoints.worker.batch import BatchProcessor
from backorder_worker.entrypoints.worker.translate import to_envelope
from backorder_worker.observability.metrics import Metrics
from backorder_worker.service_layer import batch as batch_module
from backorder_worker.service_layer import rounds
from backorder_worker.service_layer.batch import ApplyBatch
from backorder_worker.settings import TopicsSettings
from backorder_worker.wire import decode_event
from bench.events import Prepared, event_mix, intake_mix, stow
from bench.generate import load_probes, load_room
from bench.room import RoomSpec, location_name


class Clock:
    """Seconds and calls per stage; ``wrap`` times a function into a stage."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    def wrap(self, stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - started
                self.calls[stage] += 1

        return timed


def kind_of(statement: str) -> str:
    """A statement's kind for the table: its verb and its first table."""
    words = statement.replace("\n", " ").split()
    verb = words[0].upper() if words else "?"
    for marker in ("INTO", "UPDATE", "FROM"):
        if marker in words[1:]:
            return f"{verb} {words[words.index(marker) + 1].strip('(')}"
    if "advisory" in statement:
        return f"{verb} advisory locks"
    return verb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--waiting", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=4_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--mix", choices=("intake", "sustained", "probes"), default="intake")
    args = parser.parse_args()
    spec = RoomSpec(waiting=args.waiting, skus=args.waiting // 10, stock_skus=args.waiting)
    migrate(args.database_url)
    load_room(args.database_url, spec)
    topics = TopicsSettings()
    events = _events(args.mix, args.database_url, spec, args.events, topics)
    records = [SourceRecord(e.topic, i % 4, i, e.key, e.value, (), 0) for i, e in enumerate(events)]
    clock = Clock()
    engine = make_engine(args.database_url)
    stages = instrument(engine, clock)
    encode = clock.wrap("encode", decision_encoder(topics))
    uow = PostgresUnitOfWork(engine, topics, encode=encode)
    processor = BatchProcessor(ApplyBatch(uow, ReleasePolicy(), utc_now), Metrics())
    outbox = PostgresOutbox(engine)
    started = time.perf_counter()
    for start in range(0, len(records), args.batch):
        chunk = records[start : start + args.batch]
        decode = time.perf_counter()
        for record in chunk:  # the decode alone, once more (the batch decodes again)
            to_envelope(decode_event(record.value, record.headers, 1_048_576))
        clock.seconds["decode"] += time.perf_counter() - decode
        stages["phase"] = "batch"
        result = clock.wrap("batch", processor.process)(chunk)
        stages["phase"] = "deliver"
        clock.wrap("deliver", outbox.deliver)(result.outbox_rows, lambda r: [x.id for x in r])
    wall = time.perf_counter() - started - clock.seconds["decode"]
    report(clock, stages["counts"], len(records), wall)


def _events(
    mix: str, url: str, spec: RoomSpec, count: int, topics: TopicsSettings
) -> list[Prepared]:
    run = f"b{int(time.time())}"
    if mix == "probes":
        skus = load_probes(url, spec, run, count)
        return [
            stow(sku, 1, location_name(i % spec.locations), topics, f"{run}-{i}")
            for i, sku in enumerate(skus)
        ]
    return (intake_mix if mix == "intake" else event_mix)(spec, count, topics, run, spec.seed + 7)


def instrument(engine: sa.Engine, clock: Clock) -> dict[str, Any]:
    """Statement and commit timers on ``engine``; handler and core timers on the modules."""
    stages: dict[str, Any] = {"phase": "batch", "in_handler": False, "counts": Counter()}
    starts: list[float] = []

    def before(*_: Any) -> None:
        starts.append(time.perf_counter())

    def after(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        where = "handler" if stages["in_handler"] else stages["phase"]
        kind = kind_of(statement)
        clock.seconds[f"sql {where}: {kind}"] += time.perf_counter() - starts.pop()
        stages["counts"][f"{where}: {kind}"] += 1

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    commit = engine.dialect.do_commit
    engine.dialect.do_commit = clock.wrap("commit", commit)  # type: ignore[method-assign]
    handle = batch_module.handle

    def in_handler(*args: Any) -> Any:
        stages["in_handler"] = True
        try:
            return clock.wrap("handler", handle)(*args)
        finally:
            stages["in_handler"] = False

    batch_module.handle = in_handler  # type: ignore[assignment]
    ReleaseRound.decide = clock.wrap("core: decide", ReleaseRound.decide)  # type: ignore[method-assign]
    rounds.pool_for = clock.wrap("core: pool_for", rounds.pool_for)
    WriteBehind.flush = clock.wrap("flush", WriteBehind.flush)  # type: ignore[method-assign]
    history.insert_rows = clock.wrap("copy: history", history.insert_rows)
    outbox_module.copy_rows = clock.wrap("copy: outbox", outbox_module.copy_rows)
    BatchProcessor._observe = clock.wrap("metrics", BatchProcessor._observe)  # type: ignore[method-assign]
    return stages


def report(clock: Clock, counts: Counter[str], events: int, wall: float) -> None:
    us = {stage: 1e6 * s / events for stage, s in clock.seconds.items()}
    handler_sql = sum(v for k, v in us.items() if k.startswith("sql handler"))
    core = us.get("core: decide", 0) + us.get("core: pool_for", 0)
    batch_sql = sum(v for k, v in us.items() if k.startswith("sql batch"))
    print(f"{events} events, {wall:.2f} s in batches: {events / wall:,.0f} events/s")
    print(f"  decode + validate      {us.get('decode', 0):7.1f} µs/event")
    print(f"  handler (all)          {us.get('handler', 0):7.1f}")
    print(f"    of it core           {core:7.1f}")
    print(f"    of it encode         {us.get('encode', 0):7.1f}")
    print(f"    of it statements     {handler_sql:7.1f}")
    rest = us.get("handler", 0) - core - us.get("encode", 0) - handler_sql
    print(f"    of it the rest       {rest:7.1f}")
    print(f"  batch statements       {batch_sql:7.1f} (claim, locks, read-ahead, flush)")
    print(f"  flush, all of it       {us.get('flush', 0):7.1f} (its statements, COPY, rows built)")
    print(f"    of it history rows   {us.get('copy: history', 0):7.1f}")
    print(f"    of it COPY outbox    {us.get('copy: outbox', 0):7.1f}")
    print(f"  metrics                {us.get('metrics', 0):7.1f}")
    print(f"  commit                 {us.get('commit', 0):7.1f}")
    outside = us.get("batch", 0) - us.get("handler", 0) - batch_sql - us.get("commit", 0)
    print(f"  batch, the rest        {outside:7.1f} (decode, batch Python, metrics)")
    print(f"  deliver (outbox marks) {us.get('deliver', 0):7.1f}")
    print("statements per event, and µs per event:")
    for name, n in sorted(counts.items(), key=lambda kv: -clock.seconds[f"sql {kv[0]}"]):
        print(f"  {n / events:7.3f}  {us.get(f'sql {name}', 0):7.1f} µs  {name}")
    print(f"  {sum(counts.values()) / events:7.3f} in all")


if __name__ == "__main__":
    main()
