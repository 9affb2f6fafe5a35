"""Deterministic ids (I4): the same decision always gets the same id, also on replay."""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("5b0c1d52-7a8e-4f57-9a57-3f4be0e6c2a1")


def released_event_id(shipment_id: str) -> str:
    """A shipment is released at most once (I2), so its id alone names the release."""
    return str(uuid.uuid5(_NAMESPACE, f"shipment.released/{shipment_id}"))


def unroutable_event_id(shipment_id: str, trigger_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"shipment.unroutable/{shipment_id}/{trigger_id}"))


def child_shipment_id(parent_id: str, number: int) -> str:
    return f"{parent_id}-R{number}"


def split_off_shipment_id(parent_id: str) -> str:
    return f"{parent_id}-B"


def short_pick_remainder_id(shipment_id: str, number: int) -> str:
    return f"{shipment_id}-SP{number}"
