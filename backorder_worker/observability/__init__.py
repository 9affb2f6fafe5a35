"""What the worker shows of itself: Prometheus metrics, JSON logs, liveness and readiness."""
