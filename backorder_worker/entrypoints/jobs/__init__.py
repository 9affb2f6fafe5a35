"""The worker's background jobs: what no input event triggers.

``background.BackgroundJobs`` is the one thread that runs them on each replica:
``daily_reevaluation`` once per UTC day (R4), and at every tick ``overdue`` (R13),
``retention`` (when its turn is due) and ``gauges``. Each job that should run on one
replica at a time holds a lease of its own (``leases``); ``pages`` is what a
re-evaluation run needs from the shell, shared with the `reevaluate` command.
"""
