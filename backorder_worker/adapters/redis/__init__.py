"""Redis, the shared fast path (SPEC §3): leases for singleton jobs.

Nothing here is ever the only record of anything: every key can be rebuilt from Postgres,
and when Redis does not answer each caller falls back to Postgres, slower but correct.
"""
