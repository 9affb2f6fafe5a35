"""The catalog cache against a real Redis: hits, invalidation across replicas, a dead Redis.

The store behind the cache is a stand-in that counts its reads and implements only what
`CachingStore` calls for the catalog; Redis is real.
"""

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import cast

import pytest
import redis

from backorder_worker.adapters.redis.caching_store import CachingStore, cached_unit_of_work
from backorder_worker.adapters.redis.catalog_cache import VERSION_KEY, CatalogCache
from backorder_worker.adapters.redis.client import RedisGuard
from backorder_worker.domain.model import Listing, Location, OutOfStockBehaviour
from backorder_worker.service_layer.ports import Store, UnitOfWork
from tests.integration.redis.conftest import FakeClock

BACKORDER = OutOfStockBehaviour.BACKORDER


class CatalogStandIn:
    """The catalog part of a `Store`, in memory, counting the reads that reach it."""

    def __init__(self) -> None:
        self.location_rows = {"A": Location("A"), "B": Location("B", rank=2)}
        self.listing_rows = {
            ("KTP", None): Listing("KTP", BACKORDER),
            ("KTP", "B"): Listing("KTP", location_id="B"),
            ("KTP2", None): Listing("KTP2", BACKORDER),
        }
        self.reads: Counter[str] = Counter()

    def locations(self) -> dict[str, Location]:
        self.reads["locations"] += 1
        return dict(self.location_rows)

    def listings(self, skus: Iterable[str]) -> dict[tuple[str, str | None], Listing]:
        wanted = set(skus)
        self.reads.update(f"listings:{sku}" for sku in sorted(wanted))
        return {key: row for key, row in self.listing_rows.items() if key[0] in wanted}

    def save_listing(self, listing: Listing) -> None:
        self.listing_rows[(listing.sku, listing.location_id)] = listing

    def save_location(self, location: Location) -> None:
        self.location_rows[location.location_id] = location


@pytest.fixture
def truth() -> CatalogStandIn:
    return CatalogStandIn()


def _store(truth: CatalogStandIn, cache: CatalogCache) -> CachingStore:
    return CachingStore(cast(Store, truth), cache)


def test_a_second_read_is_served_from_the_cache_without_the_store(
    guard: RedisGuard, truth: CatalogStandIn
) -> None:
    cache = CatalogCache(guard)
    cache.begin_batch()
    store = _store(truth, cache)
    first = (store.locations(), store.listings(["KTP"]))
    cache.begin_batch()  # a later batch, the version unchanged
    second = (store.locations(), store.listings(["KTP"]))
    assert first == second
    assert first[1] == {
        ("KTP", None): Listing("KTP", BACKORDER),
        ("KTP", "B"): Listing("KTP", location_id="B"),
    }
    assert truth.reads == Counter({"locations": 1, "listings:KTP": 1})


def test_only_skus_not_yet_cached_are_read_and_a_sku_without_listing_is_cached_as_such(
    guard: RedisGuard, truth: CatalogStandIn
) -> None:
    cache = CatalogCache(guard)
    cache.begin_batch()
    store = _store(truth, cache)
    store.listings(["KTP", "NOPE"])
    assert store.listings(["KTP2", "KTP", "NOPE"]) == {
        ("KTP", None): Listing("KTP", BACKORDER),
        ("KTP", "B"): Listing("KTP", location_id="B"),
        ("KTP2", None): Listing("KTP2", BACKORDER),
    }
    assert truth.reads == Counter({"listings:KTP": 1, "listings:NOPE": 1, "listings:KTP2": 1})


def test_changing_a_returned_dict_does_not_change_the_cache(
    guard: RedisGuard, truth: CatalogStandIn
) -> None:
    cache = CatalogCache(guard)
    cache.begin_batch()
    store = _store(truth, cache)
    store.locations().clear()
    store.listings(["KTP"]).clear()
    assert set(store.locations()) == {"A", "B"}
    assert len(store.listings(["KTP"])) == 2


def test_an_invalidation_by_another_replica_makes_the_first_reload_at_its_next_batch(
    guard: RedisGuard, redis_client: redis.Redis, truth: CatalogStandIn
) -> None:
    first, other = CatalogCache(guard), CatalogCache(RedisGuard(redis_client))
    first.begin_batch()
    store = _store(truth, first)
    store.locations()
    truth.location_rows["A"] = Location("A", active=False)
    other.invalidate()  # the replica that wrote location A
    assert store.locations()["A"].active, "within the batch the first replica may be stale"
    first.begin_batch()
    assert not store.locations()["A"].active
    assert truth.reads["locations"] == 2


def test_a_catalog_write_is_read_back_in_its_own_transaction_and_invalidates_after_commit(
    guard: RedisGuard, redis_client: redis.Redis, truth: CatalogStandIn
) -> None:
    cache = CatalogCache(guard)
    cache.begin_batch()
    version = redis_client.get(VERSION_KEY)

    @contextmanager
    def transaction() -> Iterator[Store]:
        yield cast(Store, truth)

    uow = cached_unit_of_work(cast(UnitOfWork, transaction), cache)
    with uow() as store:
        store.listings(["KTP2"])
        store.save_listing(Listing("KTP2"))
        assert store.listings(["KTP2"]) == {("KTP2", None): Listing("KTP2")}
        assert redis_client.get(VERSION_KEY) == version, "not before the commit"
    assert int(redis_client.get(VERSION_KEY) or 0) == int(version or 0) + 1


def test_a_rolled_back_catalog_write_neither_invalidates_nor_fills_the_cache(
    guard: RedisGuard, redis_client: redis.Redis, truth: CatalogStandIn
) -> None:
    cache = CatalogCache(guard)
    cache.begin_batch()
    version = redis_client.get(VERSION_KEY)
    saved = dict(truth.listing_rows)

    @contextmanager
    def transaction() -> Iterator[Store]:
        try:
            yield cast(Store, truth)
        except RuntimeError:
            truth.listing_rows = saved  # the rollback
            raise

    uow = cached_unit_of_work(cast(UnitOfWork, transaction), cache)
    with pytest.raises(RuntimeError), uow() as store:
        store.save_listing(Listing("KTP2"))
        store.listings(["KTP2"])  # sees the uncommitted write: must not be cached
        raise RuntimeError("handler failed")
    assert redis_client.get(VERSION_KEY) == version
    assert _store(truth, cache).listings(["KTP2"]) == {("KTP2", None): Listing("KTP2", BACKORDER)}


def test_with_redis_unreachable_every_read_goes_to_the_store_and_nothing_raises(
    dead_redis: redis.Redis, truth: CatalogStandIn
) -> None:
    cache = CatalogCache(RedisGuard(dead_redis))
    store = _store(truth, cache)
    for _ in range(3):
        cache.begin_batch()
        assert store.locations()["B"].rank == 2
        assert ("KTP2", None) in store.listings(["KTP2"])
    store.save_location(Location("C"))
    cache.invalidate()
    assert not cache.is_enabled
    assert truth.reads == Counter({"locations": 3, "listings:KTP2": 3})


def test_an_invalidation_made_while_redis_was_down_is_sent_at_the_next_batch(
    guard: RedisGuard, dead_redis: redis.Redis, redis_client: redis.Redis, clock: FakeClock
) -> None:
    live = guard.client
    cache = CatalogCache(guard, clock=clock)
    guard.client = dead_redis
    cache.invalidate()  # lost: Redis is down
    guard.client = live
    clock.advance(10)  # past the guard's cool-off
    redis_client.set(VERSION_KEY, 41)
    cache.begin_batch()
    assert redis_client.get(VERSION_KEY) == b"42"


def test_a_version_key_lost_by_redis_makes_replicas_reload(
    guard: RedisGuard, redis_client: redis.Redis, truth: CatalogStandIn
) -> None:
    cache = CatalogCache(guard)
    cache.begin_batch()
    _store(truth, cache).locations()
    redis_client.flushdb()
    redis_client.incr(VERSION_KEY)  # another replica's invalidation, counting again from 1
    cache.begin_batch()
    _store(truth, cache).locations()
    assert truth.reads["locations"] == 2


def test_entries_older_than_max_age_are_reloaded_even_when_the_version_stands(
    guard: RedisGuard, truth: CatalogStandIn, clock: FakeClock
) -> None:
    cache = CatalogCache(guard, max_age_s=60, clock=clock)
    store = _store(truth, cache)
    cache.begin_batch()
    store.locations()
    clock.advance(30)
    cache.begin_batch()
    store.locations()
    clock.advance(31)
    cache.begin_batch()
    store.locations()
    assert truth.reads["locations"] == 2
