"""The worker's Postgres sessions: UTC, and a bound on how long one may sit idle inside a
transaction (a frozen process must not hold the other replicas' SKU locks for ever)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from backorder_worker.adapters.postgres.engine import make_engine
from backorder_worker.adapters.postgres.errors import is_transient


def test_sessions_run_in_utc_and_a_transaction_left_idle_ends_in_a_retryable_error(
    migrated_url: str,
) -> None:
    engine = make_engine(migrated_url, idle_in_transaction_ms=300)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW timezone")).scalar_one() == "UTC"
            conn.execute(sa.text("SELECT 1"))  # a transaction is open now
            time.sleep(0.8)
            with pytest.raises(sa.exc.DBAPIError) as ended:
                conn.execute(sa.text("SELECT 1"))
        assert is_transient(ended.value), "the batch must be retried, not fail for good"
    finally:
        engine.dispose()


def test_the_default_bound_is_a_minute(migrated_url: str) -> None:
    engine = make_engine(migrated_url)
    try:
        with engine.connect() as conn:
            setting = conn.execute(sa.text("SHOW idle_in_transaction_session_timeout"))
            assert setting.scalar_one() == "1min"
    finally:
        engine.dispose()
