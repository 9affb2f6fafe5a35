"""Transaction-scoped advisory locks: SKU locks and location locks (see
``service_layer/locking.py`` for the rules they serve).

A SKU's key and a location's key are 64-bit hashes computed here, each kind with a hash
of its own so they never collide. ``lock_keys`` takes its keys in ascending order in one
statement and waits; ``try_lock_keys`` never waits and says which keys it could not
take. Both hold what they took until the transaction ends (Postgres cannot release a
transaction-scoped advisory lock early, not even by rolling back to a savepoint).

``HeldLocks.take`` is where rule 3 of ``locking.py`` is kept: the transaction's first
call (even an empty one) is the only one that may wait, and it holds no advisory lock
yet; every later call only tries, and what it is refused raises ``LockContended`` at
once. So a waits-for edge between advisory locks starts only at a first call, which
waits for a key greater than every key it holds; along any chain of waits the keys never
decrease (equal only within one key's queue, which has a first), and no chain can close
into a cycle (the argument in full is in ``locking.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from backorder_worker.service_layer.locking import LockContended, LockNeeds

_SKU = b"bw/sku-lock"
_RAISE = b"bw/raise-lock"
_LOCATION = b"bw/location-lock"

Keys = Mapping[int, bool]  # lock key -> shared (True) or exclusive (False)


def sku_lock_key(sku: str) -> int:
    return _key(_SKU, sku)


def raise_lock_key(sku: str) -> int:
    return _key(_RAISE, sku)


def location_lock_key(location_id: str) -> int:
    return _key(_LOCATION, location_id)


def _key(person: bytes, name: str) -> int:
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8, person=person).digest()
    return int.from_bytes(digest, "big", signed=True)


def _statement(function: str) -> sa.TextClause:
    # unnest() yields the arrays in order and the projection locks row by row, in one trip.
    return sa.text(
        f"SELECT k, CASE WHEN s THEN {function}_shared(k) ELSE {function}(k) END AS taken "
        "FROM unnest(:keys, :shared) AS t(k, s) ORDER BY k"
    ).bindparams(
        sa.bindparam("keys", type_=ARRAY(sa.BigInteger)),
        sa.bindparam("shared", type_=ARRAY(sa.Boolean)),
    )


# A session-level lock taken and given back at once: it succeeds only if nobody holds the
# key (in any mode) at that instant. CASE fixes the order: unlock only what was taken.
_UNHELD = sa.text(
    "SELECT k FROM unnest(:keys) AS t(k) "
    "WHERE CASE WHEN pg_try_advisory_lock(k) THEN pg_advisory_unlock(k) ELSE false END"
).bindparams(sa.bindparam("keys", type_=ARRAY(sa.BigInteger)))
_LOCK = _statement("pg_advisory_xact_lock")
_TRY_LOCK = _statement("pg_try_advisory_xact_lock")


def _params(keys: Keys) -> dict[str, list[object]]:
    ordered = sorted(keys.items())
    return {"keys": [k for k, _ in ordered], "shared": [s for _, s in ordered]}


def lock_keys(conn: sa.Connection, keys: Keys) -> None:
    """Takes these locks in ascending key order, waiting for each."""
    if keys:
        conn.execute(_LOCK, _params(keys)).all()


def unheld_keys(conn: sa.Connection, keys: Iterable[int]) -> set[int]:
    """Which of these keys no other transaction holds at this instant (taking none)."""
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    return {int(key) for key in conn.execute(_UNHELD, {"keys": wanted}).scalars()}


def try_lock_keys(conn: sa.Connection, keys: Keys) -> set[int]:
    """Takes what it can of these locks without waiting; returns the keys it could not."""
    if not keys:
        return set()
    rows = conn.execute(_TRY_LOCK, _params(keys)).all()
    return {int(key) for key, taken in rows if not taken}


class HeldLocks:
    """The locks one transaction holds, and ``take``: its first call waits, every later
    call only tries and raises ``LockContended`` naming what another transaction holds."""

    def __init__(self) -> None:
        self.first_call_made = False  # from then on, only tries (rule 3)
        self.skus: set[str] = set()
        self.raised: set[str] = set()  # SKUs whose raise lock is held (shared)
        self.locations: dict[str, bool] = {}  # location -> held shared (else exclusive)

    def take(self, conn: sa.Connection, needs: LockNeeds) -> bool:
        """Takes what ``needs`` adds to the held locks; says whether it took any. Only the
        first call, even an empty one, may wait; a later one never does."""
        first, self.first_call_made = not self.first_call_made, True
        wanted: dict[int, bool] = {}
        names: dict[int, tuple[str, str]] = {}
        for sku in needs.skus - self.skus:
            wanted[key := sku_lock_key(sku)] = False
            names[key] = ("sku", sku)
        for sku in needs.raised_skus - self.raised:
            wanted[key := raise_lock_key(sku)] = True
            names[key] = ("raise", sku)
        shared = dict.fromkeys(needs.stocked_locations, True)
        for location, is_shared in (shared | dict.fromkeys(needs.changed_locations, False)).items():
            held = self.locations.get(location)
            if held is None or (held and not is_shared):  # not held, or held shared only
                wanted[key := location_lock_key(location)] = is_shared
                names[key] = ("location", location)
        if not wanted:
            return False
        if first:
            lock_keys(conn, wanted)
        elif refused := try_lock_keys(conn, wanted):
            # No wait, not even a brief one: the caller rolls back (freeing what this
            # call did take) and runs again with these in its first call.
            raise LockContended(_needs({names[key]: wanted[key] for key in refused}))
        for key, (kind, name) in names.items():
            if kind == "sku":
                self.skus.add(name)
            elif kind == "raise":
                self.raised.add(name)
            else:
                self.locations[name] = wanted[key]
        return True


def _needs(refused: dict[tuple[str, str], bool]) -> LockNeeds:
    def named(kind: str, shared: bool | None = None) -> frozenset[str]:
        return frozenset(
            name for (k, name), s in refused.items() if k == kind and shared in (None, s)
        )

    return LockNeeds(
        named("sku"), named("location", True), named("location", False), named("raise")
    )
