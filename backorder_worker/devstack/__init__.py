"""The development stack: what `make run` and the test fixtures start on a laptop.

`embedded_stack` owns the Postgres, Redis and Tansu processes started from PyPI packages
alone (the `embedded` extra), `tansu` the Kafka-protocol broker among them, `demo` the
`backorder-worker demo` story played through them, `demo_scenarios` the seed examples it
plays. Nothing the worker runs in production imports this package: only the `demo`
command, the tests and the bench do.
"""
