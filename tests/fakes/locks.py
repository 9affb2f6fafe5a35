"""The fake ``LockPort``: one transaction at a time here, so nothing can contend; the
locked SKUs are remembered for the tests that look."""

from __future__ import annotations

from collections.abc import Iterable

from backorder_worker.service_layer.locking import LockNeeds
from tests.fakes.state import FakeArea


class FakeLocks(FakeArea):
    locked: set[str]

    def lock(self, needs: LockNeeds) -> None:
        self.locked.update(needs.skus)

    def lock_skus(self, skus: Iterable[str]) -> None:
        self.locked.update(skus)

    def skus_raised_by_nobody(self, skus: Iterable[str]) -> set[str]:
        return set(skus)  # nobody else holds anything
