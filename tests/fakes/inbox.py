"""The fake ``InboxPort``: claims in the state's inbox, rolled back with the transaction."""

from __future__ import annotations

from collections.abc import Sequence

from backorder_worker.service_layer.ports import Claim
from tests.fakes.state import FakeArea


class FakeInbox(FakeArea):
    _preclaimed: set[str]

    def claim_event(self, event_id: str, event_type: str, digest: str) -> Claim:
        if event_id in self._preclaimed:
            self._preclaimed.discard(event_id)
            return Claim.NEW
        seen = self.state.inbox.get(event_id)
        if seen is None:
            self.state.inbox[event_id] = digest
            return Claim.NEW
        return Claim.DUPLICATE if seen == digest else Claim.CONFLICT

    def claim_events(self, claims: Sequence[tuple[str, str, str]]) -> None:
        for event_id, _, digest in claims:
            if event_id not in self.state.inbox:
                self.state.inbox[event_id] = digest
                self._preclaimed.add(event_id)

    def release_claim(self, event_id: str) -> None:
        self._preclaimed.discard(event_id)
        del self.state.inbox[event_id]
