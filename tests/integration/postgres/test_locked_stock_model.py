"""The transaction's copy of locked stock against a model: any sequence of locks, blind and
answered additions, levels, supply upserts and releases (with pages and supplies read
ahead or not) reads, within the transaction and after commit, exactly as plain
arithmetic on the same sequence says (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backorder_worker.adapters.event_codec import decision_encoder
from backorder_worker.adapters.postgres.store import PostgresStore, PostgresUnitOfWork
from backorder_worker.adapters.postgres.tables import metadata
from backorder_worker.domain.inventory import StockKey, Supply
from backorder_worker.domain.model import ReleaseOrder
from backorder_worker.domain.outcomes import ShipmentReleased
from backorder_worker.service_layer.ports import ReadAhead
from tests.integration.postgres.conftest import TOPICS
from tests.integration.postgres.world import NOW, decide, set_up_catalog, shipment, waiting

SKUS = ("K1", "K2", "K3")
LOCATIONS = ("A", "B")
SUPPLY_IDS = ("P1", "P2", "P3")
EXPECTED = NOW.date() + timedelta(days=5)

sku = st.sampled_from(SKUS)
location = st.sampled_from(LOCATIONS)
units = st.integers(1, 4)
op = st.one_of(
    st.tuples(st.just("lock"), sku),
    st.tuples(st.just("add_later"), location, sku, units),
    st.tuples(st.just("add"), location, sku, units),
    st.tuples(st.just("set"), location, sku, st.integers(0, 6), st.booleans()),
    st.tuples(st.just("supply"), st.sampled_from(SUPPLY_IDS), location, sku, st.integers(0, 6)),
    st.tuples(st.just("release"), sku),
    st.tuples(st.just("read"), sku),
)


@dataclass
class Model:
    free: dict[StockKey, int] = field(default_factory=dict)
    as_of: dict[StockKey, object] = field(default_factory=dict)
    supplies: dict[str, Supply] = field(default_factory=dict)

    def current(self, sku: str) -> dict[StockKey, int]:
        return {key: n for key, n in sorted(self.free.items()) if key[1] == sku}

    def offered(self, sku: str) -> list[Supply]:
        found = [s for s in self.supplies.values() if s.sku == sku and s.free > 0]
        return sorted(found, key=lambda s: s.supply_id)


def _fresh(engine: sa.Engine) -> None:
    names = ", ".join(table.name for table in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def _apply(store: PostgresStore, model: Model, step: tuple[object, ...]) -> None:
    kind = step[0]
    if kind == "lock":
        store.lock_skus([str(step[1])])
    elif kind == "add_later":
        _, loc, sku_, n = step
        store.add_free_stock_later(str(loc), str(sku_), int(str(n)))
        key = (str(loc), str(sku_))
        model.free[key] = model.free.get(key, 0) + int(str(n))
    elif kind == "add":
        _, loc, sku_, n = step
        key = (str(loc), str(sku_))
        assert store.add_free_stock(key[0], key[1], int(str(n))) == model.free.get(key, 0)
        model.free[key] = model.free.get(key, 0) + int(str(n))
    elif kind == "set":
        _, loc, sku_, free, with_as_of = step
        key = (str(loc), str(sku_))
        at = NOW + timedelta(minutes=len(model.as_of)) if with_as_of else None
        store.set_free_stock(key[0], key[1], int(str(free)), level_as_of=at)
        model.free[key] = int(str(free))
        if at is not None:
            model.as_of[key] = at
    elif kind == "supply":
        _save_supply(store, model, step)
    elif kind == "release":
        _release(store, model, str(step[1]))
    else:
        _check(store, model, str(step[1]))


def _save_supply(store: PostgresStore, model: Model, step: tuple[object, ...]) -> None:
    _, supply_id, loc, sku_, quantity = step
    store.lock_skus([str(sku_)])  # as announce_supply does
    existing = store.supply(str(supply_id))
    assert existing == model.supplies.get(str(supply_id))
    promised = existing.promised if existing is not None else 0
    if existing is not None and promised and (existing.location_id, existing.sku) != (loc, sku_):
        return  # announce_supply rejects moving promised units
    saved = Supply(str(supply_id), str(loc), str(sku_), int(str(quantity)), EXPECTED, promised)
    store.save_supply(saved)
    model.supplies[saved.supply_id] = saved


def _release(store: PostgresStore, model: Model, sku_: str) -> None:
    store.lock_skus([sku_])
    page = store.waiting_page([sku_], ReleaseOrder.FIFO, None, 1)
    if not page:
        return
    (decision,) = decide(store, page)
    if not isinstance(decision, ShipmentReleased):
        return
    store.record(decision, NOW)
    for draw in decision.draws:
        if draw.supply_id is None:
            model.free[(draw.location_id, draw.sku)] -= draw.quantity
        else:
            kept = model.supplies[draw.supply_id]
            model.supplies[draw.supply_id] = replace(kept, promised=kept.promised + draw.quantity)


def _check(store: PostgresStore, model: Model, sku_: str) -> None:
    assert store.current_stock([sku_]) == model.current(sku_)
    assert store.supplies([sku_]) == model.offered(sku_)
    for (loc, of_sku), free in model.current(sku_).items():
        position = store.stock_position(loc, of_sku)
        assert (position.free, position.level_as_of) == (free, model.as_of.get((loc, of_sku)))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    demand=st.lists(st.tuples(sku, st.integers(1, 3)), min_size=1, max_size=6),
    steps=st.lists(op, min_size=1, max_size=25),
    ahead=st.booleans(),
)
def test_the_locked_stock_copy_reads_and_commits_what_the_model_says(
    session_engine: sa.Engine,
    demand: list[tuple[str, int]],
    steps: list[tuple[object, ...]],
    ahead: bool,
) -> None:
    _fresh(session_engine)
    uow = PostgresUnitOfWork(session_engine, TOPICS, encode=decision_encoder(TOPICS))
    with uow() as store:
        set_up_catalog(store, SKUS)
        for n, (wanted, quantity) in enumerate(demand):
            store.record(waiting(shipment(f"S-{n}", (wanted, quantity)), NOW), NOW)
    model = Model()
    with uow() as store:
        if ahead:  # as a batch does: the pages and supplies its events will ask for
            store.lock_skus(SKUS)
            pages, ids = frozenset(SKUS), frozenset(SUPPLY_IDS)
            store.read_ahead(ReadAhead(first_pages=pages, page_size=32, supply_ids=ids))
        for step in steps:
            _apply(store, model, step)
        for each in SKUS:
            _check(store, model, each)
    with uow() as store:
        for each in SKUS:
            _check(store, model, each)
        for supply_id, kept in model.supplies.items():
            assert store.supply(supply_id) == kept
