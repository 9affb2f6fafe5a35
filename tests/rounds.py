"""One pure release round over a set of candidates, for the domain tests and the bench.

The service layer's rounds (``service_layer/rounds.py``) decide shipment by shipment and
record each decision in the store as they go; the properties of the core (I1 to I4) are
tested here on the same ``ReleaseRound``, with no store: every candidate, in release order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from backorder_worker.domain.inventory import StockPool
from backorder_worker.domain.model import Candidate, Catalog, ReleasePolicy
from backorder_worker.domain.outcomes import Decision, Trigger
from backorder_worker.domain.release import Floors, ReleaseRound, release_order_key


def decide_round(
    candidates: Iterable[Candidate],
    catalog: Catalog,
    policy: ReleasePolicy,
    pool: StockPool,
    now: datetime,
    trigger: Trigger,
    floors: Floors | None = None,
) -> list[Decision]:
    """All decisions of one round; candidates are put in release order first (I4)."""
    round_ = ReleaseRound(catalog, policy, pool, now, trigger, floors)
    decisions: list[Decision] = []
    for candidate in sorted(candidates, key=lambda c: release_order_key(policy.release_order, c)):
        decisions.extend(round_.decide(candidate))
    return decisions
