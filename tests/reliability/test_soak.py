"""The short soak in `make test`: three replicas, one killed and one started, the oracle's I3
at every quiet moment. `make soak` plays the same for as long as asked (tests.reliability.soak).
"""

from __future__ import annotations

from tests.e2e.support import World
from tests.reliability.conftest import Figures
from tests.reliability.soak import Length, play

SHORT = Length(phases=4, bursts=15, pause_s=0.2)


def test_three_replicas_with_one_killed_and_one_started_lose_double_and_oversell_nothing(
    world: World, figures: Figures
) -> None:
    report = play(world, seed=2026, length=SHORT)
    print(report.summary())
    figures.add("soak: 3 replicas, kill -9 one, start one", report.verdict, None)

    assert report.ok, report.summary()
    assert (report.kills, report.restarts) == (1, 1), "the kill or the restart did not happen"
    assert report.verdict.releases > 0 and report.states["WAITING"] > 0, (
        "nothing released or nothing left waiting: the world tested little"
    )
