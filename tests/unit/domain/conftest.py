"""Hypothesis profiles: ``HYPOTHESIS_PROFILE=nightly`` runs the oracle comparisons longer.

The oracle property tests take ``oracle_examples()`` examples: 10,000 by default (under a
minute in ``make test``, the same worlds every run), the profile's ``max_examples`` when that
is larger (``nightly``: 200,000 new worlds each run).
"""

import os

from hypothesis import settings

settings.register_profile("nightly", max_examples=200_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
