"""Which worker code a run measures, and on what machine.

By default a run measures the working tree, as it is while the run lasts. ``--at REV``
measures a commit instead: ``relaunch_at`` extracts ``backorder_worker`` as committed
(``git archive``) into a snapshot directory, copies this harness next to it, and re-runs
the command there. The snapshot is the working directory of the harness and of the
workers it starts, which puts it first on ``sys.path`` for ``python -m``; edits made to
the working tree during the run cannot reach it.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import psutil

BENCH = Path(__file__).parent


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def relaunch_at(rev: str, argv: Sequence[str], results_dir: Path) -> NoReturn:
    """Re-runs ``python -m bench.run argv`` (less ``--at``) in a snapshot of ``rev``."""
    sha = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    if not sha:
        raise SystemExit(f"unknown revision {rev!r}")
    root = Path(tempfile.mkdtemp(prefix=f"backorder-bench-{sha[:10]}-"))
    archive = subprocess.Popen(["git", "archive", sha, "backorder_worker"], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(root)], stdin=archive.stdout, check=True)
    if archive.wait() != 0:
        raise SystemExit(f"git archive {sha} failed")
    shutil.copytree(BENCH, root / "bench", ignore=shutil.ignore_patterns("results", "__pycache__"))
    # The harness's one test helper (``decide_round`` for the naive baseline) comes with it.
    (root / "tests").mkdir()
    for name in ("__init__.py", "rounds.py"):
        shutil.copy2(BENCH.parent / "tests" / name, root / "tests" / name)
    rest = _without_at(list(argv))
    command = [sys.executable, "-m", "bench.run", *rest, "--measured-at", sha]
    command += ["--results-dir", str(results_dir.resolve())]
    os.chdir(root)
    os.execve(sys.executable, command, {**os.environ, "PYTHONPATH": str(root)})


def _without_at(argv: list[str]) -> list[str]:
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--at":
            skip = True
        elif not arg.startswith("--at="):
            kept.append(arg)
    return kept


def environment(measured_at: str | None) -> dict[str, Any]:
    """The code measured (commit, and the working tree's changes if any) and the machine."""
    if measured_at:
        code = {"commit": measured_at, "tree": "git archive of the commit", "changes": ""}
    else:
        changes = git("status", "--short", "backorder_worker")
        code = {"commit": git("rev-parse", "HEAD"), "tree": "working tree", "changes": changes}
    import backorder_worker  # after a relaunch: the snapshot's

    return {
        "git": {**code, "package": str(Path(backorder_worker.__file__).parent)},
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_start": os.getloadavg(),
        },
    }
