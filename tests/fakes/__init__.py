"""An in-memory Store for fast tests of the service layer, one fake per port area.

It keeps the promises the Postgres adapter keeps, in the way a single transaction at a
time can: a transaction is a deep copy that replaces the state on commit; records refuse
to release a shipment that is no longer waiting and to draw more than is free; output
rows are encoded by the same injected encoder (the wire codec) before anything is
written. The modules: ``state`` (what it holds), ``inbox``, ``locks``, ``catalog``,
``stock`` (positions and supplies), ``waiting_room``, ``shipments``, ``outbox``, and
``store`` (all of them as ``FakeStore``, and ``FakeUnitOfWork``).
"""

from tests.fakes.state import State
from tests.fakes.store import FakeStore, FakeUnitOfWork

__all__ = ["FakeStore", "FakeUnitOfWork", "State"]
