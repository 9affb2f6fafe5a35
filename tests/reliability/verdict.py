"""What the reliability checker saw: the counts it verified, and every problem it found,
counted per check; `lost` and `duplicated` are the two kinds `check` asserts to be 0.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Verdict:
    """What the checker saw; `lost` and `duplicated` are asserted to be 0."""

    inputs: int = 0
    applied: int = 0
    dead_lettered: int = 0
    releases: int = 0
    unroutable_events: int = 0
    output_records: int = 0
    republished_copies: int = 0  # at-least-once delivery: same id, same bytes, again
    lost: int = 0
    duplicated: int = 0
    waited_s: float = 0.0
    quiet_at: float = 0.0  # time.monotonic() when the lag was 0 and the outbox published
    problems: list[str] = field(default_factory=list)
    found: Counter[str] = field(default_factory=Counter)  # problems per check (`CHECKS`)

    def fail(self, kind: str, message: str) -> None:
        if kind == "lost":
            self.lost += 1
        elif kind == "duplicated":
            self.duplicated += 1
        self.problems.append(f"{kind}: {message}")
