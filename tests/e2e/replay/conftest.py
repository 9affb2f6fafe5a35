"""Fixtures of the `replay` tests: the services a replay runs with, built from the test
world's settings, and a producer that puts inputs on their topics.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kafka import KafkaProducer

from backorder_worker.bootstrap import Services, build_services
from tests.e2e.support import World


@pytest.fixture
def services(world: World) -> Iterator[Services]:
    built = build_services(world.settings)
    yield built
    built.close()


@pytest.fixture
def producer(world: World) -> Iterator[KafkaProducer]:
    made = KafkaProducer(bootstrap_servers=world.settings.kafka.bootstrap_servers)
    yield made
    made.close(5)
