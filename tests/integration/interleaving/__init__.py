"""Interleaving tests on real Postgres (issue 10).

Two or three batches of the real ``BatchProcessor``, each a replica with its own engine,
are stepped one port call at a time by a scheduler (``scheduler``, ``pausing``,
``lock_waits``) through the scenarios of ``scenarios``; after every schedule ``invariants``
checks I1, I2, idempotency and I3 by the independent oracle (``tests.oracle``).

Run more schedules: ``BACKORDER_TEST_INTERLEAVINGS=2000 pytest tests/integration/interleaving``.
Replay one: ``BACKORDER_TEST_INTERLEAVING_SEED=7 pytest tests/integration/interleaving -k NAME``.
"""
