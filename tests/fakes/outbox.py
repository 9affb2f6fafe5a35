"""The fake ``OutboxPort``: what a transaction queued, kept in the state twice — as the
decision or letter itself (``state.outbox``, what the tests look at) and as the row the
relay would publish (``state.rows``).

The rows are made as Postgres makes them: a decision's by the encoder the unit of work
was given (the wire codec by default, as ``bootstrap`` gives Postgres), before anything
is written, so a decision the codec refuses fails here too; a dead letter's by
``dead_letter_record``.
"""

from __future__ import annotations

from datetime import datetime

from backorder_worker.adapters.postgres.outbox import Queued, dead_letter_record
from backorder_worker.domain.outcomes import Decision
from backorder_worker.service_layer.ports import DeadLetter, EncodeDecision, OutboxRow
from tests.fakes.state import FakeArea


class FakeOutbox(FakeArea):
    _outbox_ids: list[int]
    _encode: EncodeDecision
    _dead_letter_topic: str

    def dead_letter(self, letter: DeadLetter) -> None:
        self._queue("dead-letter", letter, dead_letter_record(letter, self._dead_letter_topic))

    def outbox_ids(self) -> list[int]:
        return list(self._outbox_ids)

    def outbox_rows(self) -> list[OutboxRow]:
        return [self.state.rows[row_id - 1] for row_id in self._outbox_ids]

    def _encoded(self, decision: Decision, now: datetime) -> Queued:
        out = self._encode(decision, now)
        return Queued(out.topic, out.key, out.value, out.headers, out.event_id)

    def _queue(self, kind: str, item: object, q: Queued) -> None:
        self.state.outbox.append((kind, item))
        row_id = len(self.state.outbox)
        self.state.rows.append(
            OutboxRow(row_id, q.topic, q.key, q.value, list(q.headers), q.event_id)
        )
        self._outbox_ids.append(row_id)
