"""Postgres failures reach the use cases as ``TransientError`` when a retry may help, and
as themselves when it cannot (``adapters/postgres/errors.py``)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backorder_worker.adapters.postgres.errors import translate_transient
from backorder_worker.service_layer.errors import TransientError
from backorder_worker.service_layer.locking import LockContended, LockNeeds
from backorder_worker.service_layer.ports import ConcurrentRelease


def test_a_dropped_connection_leaves_the_block_as_a_transient_error_caused_by_it() -> None:
    dropped = sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    with pytest.raises(TransientError) as raised, translate_transient():
        raise dropped

    assert raised.value.__cause__ is dropped
    assert "server closed the connection" in str(raised.value)


def test_a_constraint_violation_is_not_retried_and_leaves_the_block_as_itself() -> None:
    violated = sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key"))

    with pytest.raises(sa.exc.IntegrityError), translate_transient():
        raise violated


@pytest.mark.parametrize(
    "error", [LockContended(LockNeeds.of_skus(["KTP"])), ConcurrentRelease("S-1")]
)
def test_a_lost_race_is_a_transient_error_and_keeps_its_own_type(error: Exception) -> None:
    with pytest.raises(type(error)), translate_transient():
        raise error

    assert isinstance(error, TransientError)
