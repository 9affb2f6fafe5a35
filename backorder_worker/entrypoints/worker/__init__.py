"""The worker's entry points: the consume loop (``loop.py``) and the edge of each batch
(``batch.py``: decode, call the service layer's ``ApplyBatch``, metrics), assembled by
``runner.py`` for `backorder-worker run`; ``replay.py`` drives the same edge over a range
of a topic; ``fault_points.py`` holds the test-only crash points of the reliability tests.
"""
