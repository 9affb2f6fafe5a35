"""R7 with allow_skip = false: what the earliest shipment could use is held, current and
future, from the shipments behind it in the same round."""

from __future__ import annotations

from backorder_worker.domain.model import ReleasePolicy
from backorder_worker.domain.outcomes import WaitState

from .builders import BACKORDERED_AT, TODAY, decide, line, released, shipment, supply, unroutable
from .builders import waiting as waits

NO_SKIP = ReleasePolicy(allow_skip=False)


def test_the_head_holds_the_future_supply_its_plan_draws() -> None:
    head = shipment("S-1", line("KTP", 5), line("KTP2", 1))
    later = shipment("S-2", line("KTP", 3))
    decisions = decide(
        [waits(head), waits(later, BACKORDERED_AT.replace(hour=10))],
        current={("A", "KTP"): 2},
        supplies=[supply("PO-1", "A", "KTP", 3, TODAY)],
        policy=NO_SKIP,
    )

    assert not released(decisions)
    assert set(unroutable(decisions, WaitState.WAITING)) == {"S-1", "S-2"}
