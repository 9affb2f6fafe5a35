"""The entry points, by kind: ``cli`` (the `backorder-worker` command group) with one
module per operator command in ``commands/``; the consume loop and what it runs with; the
worker's background jobs in ``jobs/``. They ask `bootstrap` for every client."""
