"""An independent, exhaustive oracle for the release rules (SPEC §2: R1-R4, R6, R9).

It decides, by brute force over small worlds, whether the free stock could complete a
shipment and what the best plan under R6 looks like. It never imports the core's routing,
fences, stock check or release round: it is the check of them. ``world`` holds plain
values, ``search`` the decisions, ``from_model`` the converters from the core's types.
"""
