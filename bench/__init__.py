"""The benchmark harness (not tests): a realistic waiting room, the real worker process
against real Postgres, Redis and a Kafka-protocol broker, and the baselines it is judged by.

``python -m bench.run --quick`` (or ``make bench-quick``) runs everything once; see
docs/performance.md for what is measured and how to read the figures.
"""
