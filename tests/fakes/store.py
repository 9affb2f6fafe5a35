"""``FakeStore``: every fake port at once, on one transaction's copy of the state; and
``FakeUnitOfWork``, which makes that copy and keeps it on commit."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

from backorder_worker.adapters.event_codec import decision_encoder
from backorder_worker.service_layer.ports import EncodeDecision, ReadAhead
from backorder_worker.settings import TopicsSettings
from tests.fakes.catalog import FakeCatalog
from tests.fakes.inbox import FakeInbox
from tests.fakes.locks import FakeLocks
from tests.fakes.shipments import FakeShipments
from tests.fakes.state import State
from tests.fakes.stock import FakeSupplies
from tests.fakes.waiting_room import FakeWaitingRoom

TOPICS = TopicsSettings()


class FakeStore(FakeInbox, FakeLocks, FakeCatalog, FakeSupplies, FakeWaitingRoom, FakeShipments):
    def __init__(
        self, state: State, encode: EncodeDecision | None = None, topics: TopicsSettings = TOPICS
    ) -> None:
        self.state = state
        self.locked: set[str] = set()
        self._outbox_ids: list[int] = []
        self._preclaimed: set[str] = set()
        self._encode = encode or decision_encoder(topics)
        self._dead_letter_topic = topics.dead_letter

    def read_ahead(self, ahead: ReadAhead) -> None:
        pass  # everything is in memory already


class FakeUnitOfWork:
    """Each call is a transaction on a deep copy of the state, which replaces the state
    on commit; ``encode`` makes the output rows (the wire codec unless a test says)."""

    def __init__(
        self, store_type: type[FakeStore] = FakeStore, encode: EncodeDecision | None = None
    ) -> None:
        self.state = State()
        self.commits = 0
        self.store_type = store_type
        self.encode = encode or decision_encoder(TOPICS)

    @contextmanager
    def __call__(self) -> Iterator[FakeStore]:
        working = copy.deepcopy(self.state)
        yield self.store_type(working, self.encode)
        self.state = working
        self.commits += 1
