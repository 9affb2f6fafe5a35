"""Re-evaluation (R4): waiting shipments decided again without an event, page by page."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import TypeVar

from backorder_worker.domain.model import PartialRelease, ReleasePolicy
from backorder_worker.domain.outcomes import Decision, ReleaseKind, ShipmentReleased
from backorder_worker.service_layer import commands as c
from backorder_worker.service_layer.ports import ShipmentState, StockPosition
from backorder_worker.service_layer.reevaluation import (
    PageDone,
    ReevaluationSummary,
    reevaluate,
)
from tests.fakes import FakeStore, FakeUnitOfWork
from tests.support.driver import T0, Driver, order

T = TypeVar("T")

FAR = T0.date() + timedelta(days=40)  # beyond the default 30-day limit


def run(world: Driver, run_id: str = "run-1", **kw: object) -> ReevaluationSummary:
    now = kw.pop("now", world.clock + timedelta(hours=1))
    policy = kw.pop("policy", world.policy)
    return reevaluate(world.uow, policy, now, run_id, **kw)  # type: ignore[arg-type]


def of_run(world: Driver, run_id: str) -> list[Decision]:
    return [d for d in world.decisions() if d.trigger.event_id == run_id]


def subject(decision: Decision) -> str:
    if isinstance(decision, ShipmentReleased):
        return decision.parent.shipment_id
    return decision.shipment.shipment_id


def state(world: Driver, shipment_id: str) -> ShipmentState:
    return world.uow.state.shipments[shipment_id].state


def waiting_for_far_supply(units: int = 5) -> Driver:
    world = Driver()
    world.seed_catalog()
    world.apply(order("S-1", ("KTP", units)))
    world.apply(c.AnnounceSupply("PO-1", "A", "KTP", units, FAR))
    return world


def test_supply_beyond_the_date_limit_does_not_release() -> None:
    world = waiting_for_far_supply()

    summary = run(world)

    assert summary == ReevaluationSummary(evaluated=1, still_waiting=1)
    assert state(world, "S-1") is ShipmentState.WAITING


def test_once_the_clock_passes_the_limit_reevaluate_releases_on_the_far_supply() -> None:
    world = waiting_for_far_supply()

    summary = run(world, now=T0 + timedelta(days=11))

    assert summary == ReevaluationSummary(evaluated=1, released=1)
    [release] = of_run(world, "run-1")
    assert isinstance(release, ShipmentReleased) and release.release is ReleaseKind.FUTURE
    assert state(world, "S-1") is ShipmentState.REASSIGNED


def test_raising_the_future_date_limit_then_reevaluating_releases() -> None:
    world = waiting_for_far_supply()

    summary = run(world, policy=replace(world.policy, future_date_limit_days=60))

    assert summary.released == 1
    assert state(world, "S-1") is ShipmentState.REASSIGNED


def test_a_dry_run_reports_the_same_decisions_and_changes_nothing() -> None:
    world = waiting_for_far_supply()
    before, commits = copy.deepcopy(world.uow.state), world.uow.commits
    pages: list[PageDone] = []

    summary = run(world, now=T0 + timedelta(days=11), dry_run=True, after_page=pages.append)

    assert summary == ReevaluationSummary(evaluated=1, released=1)
    assert world.uow.state == before and world.uow.commits == commits
    assert [p.outbox_ids for p in pages] == [[]]
    assert run(world, now=T0 + timedelta(days=11)) == summary


def test_paging_by_two_evaluates_each_of_seven_once_while_some_are_released_mid_walk() -> None:
    world = Driver()
    world.seed_catalog()
    for n in range(1, 8):
        world.apply(order(f"S-{n}", ("KTP2" if n % 2 else "KTP", 1)))
    world.apply(c.AnnounceSupply("PO-1", "A", "KTP", 3, FAR))
    pages: list[PageDone] = []

    summary = run(world, now=T0 + timedelta(days=11), page_size=2, after_page=pages.append)

    counts = Counter(subject(d) for d in of_run(world, "run-1"))
    assert counts == Counter(f"S-{n}" for n in range(1, 8))
    assert summary == ReevaluationSummary(evaluated=7, released=3, still_waiting=4)
    assert [p.summary.evaluated for p in pages] == [2, 2, 2, 1]
    assert {n for n in range(1, 8) if state(world, f"S-{n}") is ShipmentState.WAITING} == {
        1,
        3,
        5,
        7,
    }


def test_a_split_off_made_mid_walk_is_not_evaluated_again_on_a_later_page() -> None:
    world = Driver(policy=ReleasePolicy(partial_release=PartialRelease.LINE))
    world.seed_catalog()
    world.apply(order("S-1", ("KTP", 1), ("KTP2", 1)))
    world.apply(order("S-2", ("KTP3", 1)))
    world.apply(c.AnnounceSupply("PO-1", "A", "KTP", 1, FAR))

    summary = run(world, now=T0 + timedelta(days=11), page_size=1)

    counts = Counter(subject(d) for d in of_run(world, "run-1"))
    assert counts == {"S-1": 1, "S-1-B": 1, "S-2": 1}
    assert summary == ReevaluationSummary(evaluated=2, released=1, still_waiting=2)
    assert state(world, "S-1-B") is ShipmentState.WAITING


def test_with_skip_off_an_earlier_pages_shipment_keeps_holding_its_stock() -> None:
    world = Driver(policy=ReleasePolicy(allow_skip=False))
    world.seed_catalog()
    world.apply(order("S-1", ("KTP", 2), ("KTP2", 1)))
    world.apply(order("S-2", ("KTP", 1)))
    world.uow.state.stock[("A", "KTP")] = StockPosition("A", "KTP", 2)  # arrived unseen

    summary = run(world, page_size=1)

    assert summary == ReevaluationSummary(evaluated=2, still_waiting=2)
    assert state(world, "S-2") is ShipmentState.WAITING


def test_with_skip_off_an_earlier_pages_shipment_keeps_holding_its_future_supply() -> None:
    world = Driver(policy=ReleasePolicy(allow_skip=False))
    world.seed_catalog()
    world.apply(order("S-1", ("KTP", 2), ("KTP2", 1)))
    world.apply(order("S-2", ("KTP", 1)))
    world.apply(c.AnnounceSupply("PO-1", "A", "KTP", 2, FAR))
    later = T0 + timedelta(days=11)  # PO-1 is within the limit now

    dry = run(world, now=later, page_size=1, dry_run=True)
    summary = run(world, now=later, page_size=1)

    assert dry == summary == ReevaluationSummary(evaluated=2, still_waiting=2)
    assert state(world, "S-2") is ShipmentState.WAITING
    assert world.uow.state.supplies["PO-1"].promised == 0


def test_a_dry_run_over_several_pages_does_not_count_the_same_units_twice() -> None:
    world = Driver()
    world.seed_catalog()
    for n in range(1, 4):
        world.apply(order(f"S-{n}", ("KTP", 1)))
    world.apply(c.AnnounceSupply("PO-1", "A", "KTP", 1, FAR))
    world.uow.state.stock[("B", "KTP")] = StockPosition("B", "KTP", 1)
    later = T0 + timedelta(days=11)

    dry = run(world, now=later, page_size=1, dry_run=True)

    assert dry == ReevaluationSummary(evaluated=3, released=2, still_waiting=1)
    assert run(world, now=later, page_size=1) == dry


def test_the_same_run_id_gives_the_same_output_ids() -> None:
    world = Driver()
    world.seed_catalog()
    for n in range(1, 4):
        world.apply(order(f"S-{n}", ("KTP", 1)))
    world.apply(c.AnnounceSupply("PO-1", "A", "KTP", 2, FAR))
    twin, other = copy.deepcopy(world), copy.deepcopy(world)
    later = T0 + timedelta(days=11)

    for each, run_id in ((world, "reevaluate-2026-05-12"), (twin, "reevaluate-2026-05-12")):
        run(each, run_id, now=later, page_size=2)
    run(other, "reevaluate-2026-05-13", now=later, page_size=2)

    ids = [d.event_id for d in of_run(world, "reevaluate-2026-05-12")]
    assert len(ids) == 3
    assert ids == [d.event_id for d in of_run(twin, "reevaluate-2026-05-12")]
    others = [d.event_id for d in of_run(other, "reevaluate-2026-05-13")]
    assert others[:2] == ids[:2]  # a release is named by its shipment alone (I2)
    assert others[2] != ids[2]  # a still-waiting report by the run that made it


def test_reevaluating_only_some_skus_leaves_the_other_shipments_alone() -> None:
    world = Driver()
    world.seed_catalog()
    world.apply(order("S-1", ("KTP", 1)))
    world.apply(order("S-2", ("KTP2", 1)))

    summary = run(world, skus={"KTP2"})

    assert summary == ReevaluationSummary(evaluated=1, still_waiting=1)
    assert [subject(d) for d in of_run(world, "run-1")] == ["S-2"]
    assert run(world, "run-2", skus=set()) == ReevaluationSummary()


class CommitFailsOnce:
    """The fake unit of work, with the commit of its ``nth`` transaction failing once."""

    def __init__(self, inner: FakeUnitOfWork, nth: int) -> None:
        self.inner, self.nth, self.calls = inner, nth, 0

    @contextmanager
    def __call__(self) -> Iterator[FakeStore]:
        self.calls += 1
        with self.inner() as store:
            yield store
            if self.calls == self.nth:
                raise ConnectionError("connection lost at commit")


def retry_once(attempt: Callable[[], T], /) -> T:
    try:
        return attempt()
    except ConnectionError:
        return attempt()


def test_a_page_whose_commit_failed_is_retried_from_the_same_cursor() -> None:
    world = Driver()
    world.seed_catalog()
    for n in range(1, 6):
        world.apply(order(f"S-{n}", ("KTP", 1)))
    world.apply(c.AnnounceSupply("PO-1", "A", "KTP", 3, FAR))
    flaky = CommitFailsOnce(world.uow, nth=2)

    summary = reevaluate(
        flaky, world.policy, T0 + timedelta(days=11), "run-1", page_size=2, retry=retry_once
    )

    assert flaky.calls == 4  # three pages, the second one twice
    assert summary == ReevaluationSummary(evaluated=5, released=3, still_waiting=2)
    assert Counter(subject(d) for d in of_run(world, "run-1")) == {f"S-{n}": 1 for n in range(1, 6)}
