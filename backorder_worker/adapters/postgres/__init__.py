"""The Postgres adapter: schema and migrations, the ``Store`` and ``Outbox`` ports.

Entry points: ``engine.make_engine``, ``migrate.migrate``, ``store.PostgresUnitOfWork``,
``outbox.PostgresOutbox``; ``errors.is_transient`` says which failures to retry.
"""
