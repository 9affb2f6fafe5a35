"""py-spy on a worker under load, summarised as its top functions.

``PySpy`` runs ``py-spy record --format raw`` (collapsed stacks) against a worker's pid for
a phase, without pausing it (``--nonblocking``); ``top_functions`` reads those stacks back:
the share of the main thread's samples that each function was on the stack for
(inclusive) and at the top of it (self). Without ``--threads`` py-spy names no thread; the
main thread's stacks are the ones that start at the module entry point. Waiting on
Postgres shows up as ``Connection.wait`` (psycopg) under the statement that waits.

    python -m bench.pyspy /tmp/backorder-bench-…/profile-worker-0.txt
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any


class PySpy:
    def __init__(self, pid: int, out: Path, seconds: float, rate: int = 50) -> None:
        binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        self.out = out
        self._process = subprocess.Popen(
            [binary, "record", "--pid", str(pid), "--duration", str(int(seconds)),
             "--rate", str(rate), "--format", "raw", "--nonblocking", "-o", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self, timeout_s: float = 30.0) -> Path | None:
        """Ends the recording (SIGINT makes py-spy write what it has) and returns the file."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        return self.out if self.out.exists() else None


def top_functions(raw: Path, top: int = 15, root: str = "_run_module_as_main") -> dict[str, Any]:
    """The busiest functions of the main thread (the stacks that start at ``root``: the
    consume loop), by share of its samples: at the top of the stack (self); the worker's
    own functions on the stack (inclusive, less the always-there entry frames); and the
    worker's innermost function of each sample spent in the Postgres driver (psycopg)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    in_driver: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not frames[0].startswith(root):
            continue
        samples = int(count)
        total += samples
        own[frames[-1]] += samples
        ours = [frame for frame in frames if "backorder_worker/" in frame]
        for frame in set(ours):
            inclusive[frame] += samples
        if ours and any("psycopg/" in frame for frame in frames):
            in_driver[ours[-1]] += samples

    def share(counter: Counter[str], below: float = 100.0) -> list[tuple[str, float]]:
        pct = [(name, round(100 * n / max(1, total), 1)) for name, n in counter.most_common()]
        return [(name, p) for name, p in pct if p < below][:top]

    return {
        "samples": total,
        "self_pct": share(own),
        "inclusive_pct": share(inclusive, below=95.0),
        "postgres_wait_by_caller_pct": share(in_driver),
    }


def main() -> None:
    summary = top_functions(Path(sys.argv[1]), top=int(sys.argv[2]) if len(sys.argv) > 2 else 25)
    print(f"{summary['samples']} samples of the main thread")
    for title in ("self_pct", "inclusive_pct", "postgres_wait_by_caller_pct"):
        print(f"\n{title}:")
        for name, pct in summary[title]:
            print(f"  {pct:5.1f} %  {name}")


if __name__ == "__main__":
    main()
