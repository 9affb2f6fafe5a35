from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.support import World, drop_database, new_tag


@pytest.fixture
def world(
    postgres_url: str, redis_url: str, kafka_bootstrap: str, tmp_path: Path
) -> Iterator[World]:
    tag = new_tag()
    created = World.create(postgres_url, redis_url, kafka_bootstrap, tag, tmp_path)
    try:
        yield created
    finally:
        created.close()
        for worker in created.workers:
            print(f"--- {worker.log.name} (last lines)")
            print("\n".join(worker.log.read_text(errors="replace").splitlines()[-30:]))
        drop_database(postgres_url, f"e2e_{tag}")
