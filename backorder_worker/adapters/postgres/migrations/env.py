"""Alembic's environment for the worker's schema.

``migrate`` runs it programmatically on a connection it has already locked, passed in
``config.attributes["connection"]``; the migration then runs inside that connection's
transaction. The alembic command line works too, with ``sqlalchemy.url`` set in its config.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from backorder_worker.adapters.postgres.tables import metadata


def _run_on(connection: sa.Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


def _run() -> None:
    config = context.config
    if context.is_offline_mode():  # `alembic upgrade head --sql`: print the DDL
        context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url", ""), poolclass=sa.NullPool)
    with engine.connect() as own:
        _run_on(own)
        own.commit()


_run()
