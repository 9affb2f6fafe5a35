"""`python -m backorder_worker` is `backorder-worker`."""

from backorder_worker.entrypoints.cli import main

main()
