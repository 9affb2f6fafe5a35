"""The SQLAlchemy engine for Postgres (psycopg 3), built once by the composition root.

Sessions run in UTC, so ``now()`` and every timestamp Postgres renders agree across
replicas; the pool checks a connection before lending it, so a restarted database costs
one failed ping, not a failed transaction. A session that sits idle inside a transaction
for a minute (a frozen or paused process holding SKU locks) is ended by Postgres, so the
other replicas' batches wait a minute at most; the frozen one's batch then fails and is
redelivered, as after any crash.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backorder_worker.adapters.postgres import arrays

APPLICATION_NAME = "backorder-worker"

# What callers hold and hand on (jobs, read commands) without using SQLAlchemy themselves.
Engine = sa.Engine


def make_engine(
    url: str,
    *,
    pool_size: int = 5,
    max_overflow: int = 5,
    application_name: str = APPLICATION_NAME,
    idle_in_transaction_ms: int = 60_000,
) -> sa.Engine:
    """An engine on ``url`` (``postgresql://`` or ``postgresql+psycopg://``).

    ``options`` given in the URL (e.g. ``-csearch_path=…``) are kept; the session time
    zone is added to them.
    """
    parsed = sa.make_url(url).set(drivername="postgresql+psycopg")
    options = str(parsed.query.get("options", ""))
    engine = sa.create_engine(
        parsed.difference_update_query(["options"]),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={
            "options": (
                f"{options} -c timezone=UTC"
                f" -c idle_in_transaction_session_timeout={idle_in_transaction_ms}"
            ).strip(),
            "application_name": application_name,
            "connect_timeout": 10,
        },
    )
    # A flush inserts hundreds of rows per table. psycopg's executemany sends one INSERT
    # per row (pipelined, yet one parse, bind and execute each on a busy server); with
    # this SQLAlchemy sends multi-row pages instead, as its psycopg2 dialect does.
    engine.dialect.use_insertmanyvalues_wo_returning = True
    # The batch statements' array parameters, written in one join each (``arrays``).
    sa.event.listen(engine, "connect", _register_adapters)
    return engine


def _register_adapters(dbapi_connection: Any, _record: Any) -> None:
    arrays.register(dbapi_connection)
