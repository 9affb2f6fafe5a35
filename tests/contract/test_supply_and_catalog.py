"""Supplies (``supply``, ``save_supply``, ``supplies``, ``promised_from``) and the catalog
(``locations``, ``save_location``, ``listings``, ``save_listing``)."""

from __future__ import annotations

from backorder_worker.domain.model import (
    Candidate,
    FulfillmentType,
    Listing,
    Location,
    Origin,
    OutOfStockBehaviour,
)
from backorder_worker.domain.outcomes import ShipmentReleased
from backorder_worker.service_layer.ports import UnitOfWork
from tests.integration.postgres.world import NOW, decide, set_up_catalog, shipment, supply


def test_a_supply_is_none_until_saved_then_upserted_whole(uow: UnitOfWork) -> None:
    with uow() as store:
        assert store.supply("PO-1") is None
        store.save_supply(supply("PO-1", "A", "KTP", 10))
        assert store.supply("PO-1") == supply("PO-1", "A", "KTP", 10)
    moved = supply("PO-1", "A", "KTP", 6, days=9, promised=2)
    with uow() as store:
        store.save_supply(moved)
    with uow() as store:
        assert store.supply("PO-1") == moved


def test_supplies_of_skus_are_those_with_free_units(uow: UnitOfWork) -> None:
    with uow() as store:
        store.save_supply(supply("PO-1", "A", "KTP", 10, promised=3))
        store.save_supply(supply("PO-2", "B", "KTP", 4, promised=4))  # all promised
        store.save_supply(supply("PO-3", "B", "KTP2", 1))
        store.save_supply(supply("PO-4", "B", "OTHER", 1))
    with uow() as store:
        found = store.supplies(["KTP", "KTP2"])
        assert sorted(found, key=lambda s: s.supply_id) == [
            supply("PO-1", "A", "KTP", 10, promised=3),
            supply("PO-3", "B", "KTP2", 1),
        ]
        assert store.supplies([]) == []


def test_a_future_release_promises_supply_units_to_the_future_shipment(
    uow: UnitOfWork, locked: bool
) -> None:
    with uow() as store:
        if locked:
            store.lock_skus(["KTP"])
        set_up_catalog(store)
        store.save_supply(supply("PO-1", "B", "KTP", 10))
        (decision,) = decide(store, [Candidate(shipment("S-1", ("KTP", 4)), NOW, Origin.INTAKE)])
        assert isinstance(decision, ShipmentReleased)
        store.record(decision, NOW)
        assert store.supply("PO-1") == supply("PO-1", "B", "KTP", 10, promised=4)
    with uow() as store:
        po1 = store.supply("PO-1")
        assert po1 == supply("PO-1", "B", "KTP", 10, promised=4)
        assert store.promised_from(po1) == [s.shipment_id for s in decision.shipments]
        assert store.promised_from(supply("PO-2", "B", "KTP", 1)) == []


def test_locations_are_every_one_saved_upserted_by_id(uow: UnitOfWork) -> None:
    with uow() as store:
        assert store.locations() == {}
        store.save_location(Location("A"))
        store.save_location(Location("B", active=False))
        assert store.locations() == {"A": Location("A"), "B": Location("B", active=False)}
    changed = Location("A", active=False, fulfillment_types=frozenset({FulfillmentType.BOPIS}))
    with uow() as store:
        store.save_location(changed)
    with uow() as store:
        assert store.locations() == {"A": changed, "B": Location("B", active=False)}


def test_listings_are_sku_wide_and_per_location_for_the_asked_skus_only(
    uow: UnitOfWork,
) -> None:
    wide = Listing("KTP", OutOfStockBehaviour.BACKORDER)
    at_a = Listing("KTP", OutOfStockBehaviour.NONE, location_id="A")
    with uow() as store:
        store.save_location(Location("A"))
        store.save_listing(wide)
        store.save_listing(at_a)
        store.save_listing(Listing("OTHER", OutOfStockBehaviour.BACKORDER))
        assert store.listings(["KTP", "NONE"]) == {("KTP", None): wide, ("KTP", "A"): at_a}
    backorder_at_a = Listing("KTP", OutOfStockBehaviour.BACKORDER, location_id="A")
    with uow() as store:
        store.lock_skus(["KTP"])
        assert store.listings(["KTP"])[("KTP", "A")] == at_a
        store.save_listing(backorder_at_a)
        assert store.listings(["KTP"]) == {("KTP", None): wide, ("KTP", "A"): backorder_at_a}
    with uow() as store:
        assert store.listings(["KTP"]) == {("KTP", None): wide, ("KTP", "A"): backorder_at_a}
        assert store.listings([]) == {}
