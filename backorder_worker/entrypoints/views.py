"""How the operator commands show what they read: the waiting room as a table, one
shipment, or JSON (``waiting``), and the table and JSON helpers ``demand`` and ``what-if``
use too.

Plain text for people (fixed columns, times in UTC, ages such as ``3d 4h``) and JSON for
scripts (every stored field, ISO 8601 times). Nothing here reads the database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from backorder_worker.adapters.postgres.shipment_views import (
    HistoryEntry,
    ShipmentView,
    StoredReason,
)
from backorder_worker.domain.model import Shipment
from backorder_worker.domain.outcomes import Decision, ShipmentReleased


def age(since: datetime | None, now: datetime) -> str:
    if since is None:
        return "-"
    seconds = max(0, int((now - since).total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else f"{seconds}s"


def when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


def lines_summary(shipment: Shipment) -> str:
    units: dict[str, int] = {}
    for line in shipment.lines:
        units[line.sku] = units.get(line.sku, 0) + line.quantity
    return ", ".join(f"{n} {sku}" for sku, n in units.items())


def reason_summary(reason: StoredReason) -> str:
    where = "/".join(part for part in (reason.sku, reason.location_id) if part)
    return f"{reason.fence}{f' {where}' if where else ''}: {reason.detail}"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], width: int = 60) -> str:
    """Left-aligned columns; a cell longer than ``width`` is cut with an ellipsis."""
    cut = [[c if len(c) <= width else c[: width - 1] + "…" for c in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cut]) for i, h in enumerate(headers)]
    lines = [headers, *cut]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in lines
    )


def waiting_table(views: Sequence[ShipmentView], total: int, now: datetime) -> str:
    if not views:
        return "no waiting shipments match"
    rows = [
        (
            v.shipment.shipment_id,
            v.shipment.order_id,
            when(v.entered_at),
            age(v.entered_at, now),
            "yes" if v.overdue else "no",
            lines_summary(v.shipment),
            (reason_summary(v.reasons[0]) if v.reasons else "-")
            + (f" (+{len(v.reasons) - 1})" if len(v.reasons) > 1 else ""),
        )
        for v in views
    ]
    headers = ("SHIPMENT", "ORDER", "ENTERED", "AGE", "OVERDUE", "LINES", "FIRST REASON")
    shown = f"{len(views)} of {total} waiting shipments shown (oldest first)"
    return f"{table(headers, rows)}\n\n{shown}"


def shipment_text(v: ShipmentView, now: datetime) -> str:
    s = v.shipment
    flags = ", OVERDUE" if v.overdue else ""
    out = [
        f"Shipment {s.shipment_id} (order {s.order_id}): {v.state}{flags}",
        f"  fulfilment    {s.fulfillment_type.value}"
        + (f", pickup at {s.pickup_location_id}" if s.pickup_location_id else "")
        + f", priority {s.priority}",
        f"  entered       {when(v.entered_at)}  ({age(v.entered_at, now)} ago)",
        f"  backordered   {when(v.backordered_at)}",
    ]
    if v.state == "WAITING":
        out.append(f"  expected by   {when(v.expected_release_by)}")
        out.append(f"  overdue       {'yes' if v.overdue else 'no'}")
    if v.parent_id:
        out.append(f"  parent        {v.parent_id}")
    if v.location_id:
        out.append(f"  assigned at   {v.location_id}" + _date(" expected ", v.expected_date))
    out += ["", "Lines", _indent(_lines(s))]
    if v.state in ("WAITING", "UNROUTABLE"):
        out += ["", f"Reasons ({len(v.reasons)}, from the last evaluation)"]
        out.append(_indent(_reasons(v.reasons)) if v.reasons else "  none")
    if v.children:
        rows = [(c.shipment.shipment_id, c.state, c.location_id or "-") for c in v.children]
        out += ["", "Released as", _indent(table(("SHIPMENT", "STATE", "LOCATION"), rows))]
    out += ["", f"History ({len(v.history)})"]
    out.append(_indent(_history(v.history)) if v.history else "  none")
    return "\n".join(out)


def live_text(decisions: Sequence[Decision]) -> str:
    """The live check (``service_layer.explain``) in a few lines."""
    if not decisions:
        return ""
    first = decisions[0]
    head = "Live check now (as if first in line; shipments ahead may take the stock first)"
    if isinstance(first, ShipmentReleased):
        where = ", ".join(f"{c.status.value} at {c.location_id}" for c in first.shipments)
        return f"{head}\n  would be released ({first.release.value}): {where}"
    lines = [f"{head}\n  still {first.state.value}:"]
    lines += [
        f"    {r.fence.value} {r.sku or r.location_id or ''}: {r.detail}".rstrip()
        for r in first.reasons
    ]
    return "\n".join(lines)


def live_json(decisions: Sequence[Decision]) -> dict[str, Any] | None:
    if not decisions:
        return None
    first = decisions[0]
    if isinstance(first, ShipmentReleased):
        return {"would_release": first.release.value}
    return {
        "state": first.state.value,
        "reasons": [
            {
                "fence": r.fence.value,
                "sku": r.sku,
                "location_id": r.location_id,
                "requested": r.requested,
                "assignable": r.assignable,
                "detail": r.detail,
            }
            for r in first.reasons
        ],
    }


def to_json(value: object) -> str:
    return json.dumps(value, default=_plain, indent=2, ensure_ascii=False)


def view_json(v: ShipmentView) -> dict[str, Any]:
    s = v.shipment
    return {
        "shipment_id": s.shipment_id,
        "order_id": s.order_id,
        "state": v.state,
        "fulfillment_type": s.fulfillment_type.value,
        "pickup_location_id": s.pickup_location_id,
        "priority": s.priority,
        "lines": [
            {
                "line_id": ln.line_id,
                "sku": ln.sku,
                "quantity": ln.quantity,
                "bundle_id": ln.bundle_id,
            }
            for ln in s.lines
        ],
        "entered_at": v.entered_at,
        "backordered_at": v.backordered_at,
        "expected_release_by": v.expected_release_by,
        "overdue": v.overdue,
        "parent_id": v.parent_id,
        "location_id": v.location_id,
        "expected_date": v.expected_date,
        "reasons": [_reason_json(r) for r in v.reasons],
        "children": [
            {"shipment_id": c.shipment.shipment_id, "state": c.state, "location_id": c.location_id}
            for c in v.children
        ],
        "history": [
            {
                "at": h.at,
                "event_id": h.event_id,
                "event_type": h.event_type,
                "state": h.state,
                "detail": h.detail,
            }
            for h in v.history
        ],
    }


def _reason_json(r: StoredReason) -> dict[str, Any]:
    return {
        "fence": r.fence,
        "mode": r.mode,
        "sku": r.sku,
        "location_id": r.location_id,
        "requested": r.requested,
        "assignable": r.assignable,
        "detail": r.detail,
    }


def _lines(s: Shipment) -> str:
    rows = [(ln.line_id, ln.sku, str(ln.quantity), ln.bundle_id or "-") for ln in s.lines]
    return table(("LINE", "SKU", "QUANTITY", "BUNDLE"), rows)


def _reasons(reasons: Sequence[StoredReason]) -> str:
    rows = [
        (
            r.fence,
            r.mode,
            r.sku or "-",
            r.location_id or "-",
            "-" if r.requested is None else str(r.requested),
            "-" if r.assignable is None else str(r.assignable),
            r.detail,
        )
        for r in reasons
    ]
    headers = ("FENCE", "MODE", "SKU", "LOCATION", "REQUESTED", "ASSIGNABLE", "DETAIL")
    return table(headers, rows, width=100)


def _history(history: Sequence[HistoryEntry]) -> str:
    rows = [(when(h.at), h.event_type, h.event_id, h.state, _describe(h.detail)) for h in history]
    return table(("AT", "EVENT TYPE", "EVENT ID", "STATE", "DETAIL"), rows, width=100)


def _describe(detail: dict[str, Any]) -> str:
    """One line per history row: what the decision was, in its own words."""
    outcome = detail.get("outcome", "")
    if outcome == "released":
        parts = [
            f"{s['shipment_id']} {s['status']} at {s['location_id']}"
            for s in detail.get("shipments", [])
        ]
        text = f"released ({detail.get('release')}): " + ", ".join(parts)
        if detail.get("split_off_shipment_id"):
            text += f"; rest waits as {detail['split_off_shipment_id']}"
        return text
    if outcome in ("waiting", "unroutable"):
        reasons = detail.get("reasons", [])
        return f"{outcome}, {len(reasons)} reason(s)" + (
            ", overdue" if detail.get("overdue") else ""
        )
    if outcome == "cancelled":
        return f"cancelled (was {detail.get('previous_state')})"
    if outcome == "supply-cut":
        return (
            f"supply {detail.get('supply_id')} cut to {detail.get('quantity')}: "
            f"{detail.get('shortfall')} of {detail.get('promised')} promised units uncovered"
        )
    return json.dumps(detail, default=_plain, ensure_ascii=False)


def _date(prefix: str, day: date | None) -> str:
    return "" if day is None else f"{prefix}{day.isoformat()}"


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


def _plain(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")
