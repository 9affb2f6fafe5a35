"""The shipment history behind ``waiting SHIPMENT``: a row per change of a shipment
(a decision, a cancel, a supply cut below its promises), with what caused it.

Written one way: rows built by ``history_row``, written by ``write_history`` (one INSERT, or
COPY for many, in the transaction of the change, so a history row exists exactly when its
change committed).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backorder_worker.adapters.postgres.rows import insert_rows
from backorder_worker.adapters.postgres.tables import shipment_history
from backorder_worker.domain.outcomes import Trigger
from backorder_worker.service_layer.ports import ShipmentState

HistoryRow = dict[str, Any]


def history_row(
    shipment_id: str,
    at: datetime,
    trigger: Trigger,
    state: ShipmentState,
    detail: dict[str, Any],
) -> HistoryRow:
    return {
        "shipment_id": shipment_id,
        "at": at,
        "event_id": trigger.event_id,
        "event_type": trigger.event_type,
        "state": state.value,
        "detail": detail,
    }


def write_history(conn: sa.Connection, rows: Sequence[HistoryRow]) -> None:
    insert_rows(conn, shipment_history, rows)
