"""The Postgres adapter: schema and migrations, the ``Store``, ``Outbox`` and ``Lease`` ports.

Entry points: ``engine.make_engine``, ``migrate.migrate``, ``store.PostgresUnitOfWork``
(given the decision encoder: this package does not know the wire format),
``outbox.PostgresOutbox``, ``lease.PostgresLease``; ``errors.is_transient`` says which
failures to retry.
"""
