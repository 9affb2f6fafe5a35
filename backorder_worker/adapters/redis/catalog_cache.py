"""A per-process cache of the catalog (locations, listings), kept honest across replicas.

The catalog is read for every event and changes rarely, so each replica keeps it in memory
and Redis holds one shared number, `bw:catalog:version`, that every catalog write bumps.

1. `begin_batch()` reads the version, one round trip per polled batch. A different version
   than last time (another replica wrote the catalog, or Redis lost the key) empties the
   local cache; Redis not answering turns caching off until a later batch sees it again.
2. Reads fill the cache from the store. The version is read before the fill, so an entry
   read just before someone else's write is dropped at the next batch, never kept.
3. After a transaction that wrote the catalog commits, `invalidate()` bumps the version.
   If Redis is down then, the bump is retried at every `begin_batch` until it lands.

A missing key is created with a random value rather than 0, so a Redis that lost its data
and counts again from 1 cannot repeat a version a replica already saw. Whatever goes wrong
with Redis, entries are also dropped every `max_age_s`: staleness is bounded, always.

`CachingStore` (in `caching_store`) puts this cache in front of a `Store`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Final

import redis

from backorder_worker.adapters.redis.client import RedisGuard
from backorder_worker.domain.model import Listing, Location

VERSION_KEY: Final = "bw:catalog:version"
MAX_AGE_S: Final = 60.0
MAX_SKUS: Final = 100_000

ListingsBySku = dict[tuple[str, str | None], Listing]
_UNAVAILABLE: Final = object()


class CatalogCache:
    """Locations and per-SKU listings of one process; thread-safe. See the module doc."""

    def __init__(
        self,
        guard: RedisGuard,
        *,
        key: str = VERSION_KEY,
        max_age_s: float = MAX_AGE_S,
        max_skus: int = MAX_SKUS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._guard = guard
        self._key = key
        self._max_age_s = max_age_s
        self._max_skus = max_skus
        self._clock = clock
        self._lock = threading.Lock()
        self._enabled = False  # only after a begin_batch that reached Redis
        self._version: bytes | None = None
        self._cleared_at = clock()
        self._generation = 0  # bumped by every clear: a fill started before it is dropped
        self._locations: dict[str, Location] | None = None
        self._listings: dict[str, ListingsBySku] = {}
        self._bumps_due = 0  # invalidations Redis did not get; sent with the next version read

    @property
    def is_enabled(self) -> bool:
        return self._enabled

    def begin_batch(self) -> None:
        """Checks the shared version (one round trip); see steps 1 and 3 of the module doc."""
        with self._lock:
            bumps = self._bumps_due
        version = self._guard.run(lambda client: self._read_version(client, bumps), _UNAVAILABLE)
        with self._lock:
            too_old = self._clock() - self._cleared_at >= self._max_age_s
            if not isinstance(version, bytes):
                self._enabled = False
                self._clear()
                return
            self._bumps_due -= bumps  # not to 0: another thread may have failed one meanwhile
            if version != self._version or too_old:
                self._clear()
                self._version = version
            self._enabled = True

    def invalidate(self) -> None:
        """Call after a catalog write commits: every replica reloads at its next batch."""
        with self._lock:
            self._clear()
        bumped = self._guard.run(lambda client: client.incr(self._key), None)
        if bumped is None:
            with self._lock:
                self._bumps_due += 1

    def clear_local(self) -> None:
        """Drops this process's entries only (an uncommitted catalog write is pending)."""
        with self._lock:
            self._clear()

    def locations(self, load: Callable[[], dict[str, Location]]) -> dict[str, Location]:
        """Every location, from the cache or from `load`."""
        if not self._enabled:
            return load()
        with self._lock:
            cached, generation = self._locations, self._generation
        if cached is None:
            cached = load()
            with self._lock:
                if self._enabled and generation == self._generation:
                    self._locations = cached
        return dict(cached)

    def listings(
        self, skus: Iterable[str], load: Callable[[list[str]], ListingsBySku]
    ) -> ListingsBySku:
        """The listings of `skus`; `load` is asked only for the SKUs not cached."""
        wanted = list(dict.fromkeys(skus))
        if not self._enabled:
            return load(wanted)
        with self._lock:
            hits = {sku: self._listings[sku] for sku in wanted if sku in self._listings}
            generation = self._generation
        missing = [sku for sku in wanted if sku not in hits]
        if missing:
            loaded: dict[str, ListingsBySku] = {sku: {} for sku in missing}  # absence is cached
            for key, listing in load(missing).items():
                loaded.setdefault(key[0], {})[key] = listing
            with self._lock:
                if self._enabled and generation == self._generation:
                    if len(self._listings) + len(loaded) > self._max_skus:
                        self._listings.clear()  # crude, and rare: a bound, not a policy
                    self._listings.update(loaded)
            hits.update(loaded)
        return {key: listing for entries in hits.values() for key, listing in entries.items()}

    def _clear(self) -> None:
        self._locations = None
        self._listings = {}
        self._cleared_at = self._clock()
        self._generation += 1

    def _read_version(self, client: redis.Redis, bumps: int) -> bytes:
        pipe = client.pipeline(transaction=False)
        if bumps:
            pipe.incr(self._key)
        pipe.set(self._key, random.getrandbits(48), nx=True)
        pipe.get(self._key)
        version = pipe.execute()[-1]
        if not isinstance(version, bytes):  # a client built with decode_responses=True
            version = str(version).encode()
        return version
