"""Helpers shared by the benchmark scripts (run as ``python benchmarks/NAME.py``)."""

from __future__ import annotations

import atexit
import platform
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def git(*args: str) -> str:
    """Output of a git command in the repository, or "" when it fails."""
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True,
                              cwd=REPO).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo (else what platform knows)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def use_revision(rev: str, prefix: str = "automixd-bench-src-") -> str:
    """Put ``rev``'s engine and adapters first on ``sys.path`` as the ``automixd`` package.

    They come from ``git archive`` into a temporary directory (removed at
    exit), so a commit can be measured while the working tree is being
    edited. Returns the short commit; exits if ``rev`` is unknown.
    """
    commit = git("rev-parse", "--short", rev)
    if not commit:
        raise SystemExit(f"unknown revision {rev!r}")
    root = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, root, True)
    pkg = root / "automixd"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    archive = subprocess.run(["git", "archive", commit, "engine", "adapters"], cwd=REPO,
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(pkg)], input=archive, check=True)
    sys.path.insert(0, str(root))
    return commit


def working_tree_description(prefix: str = "working tree") -> str:
    """``"<prefix> at <commit>"``, naming the engine files changed since that commit."""
    changed = git("status", "--porcelain", "--", "engine").splitlines()
    dirty = " ".join(x.split()[-1] for x in changed)
    return (f"{prefix} at {git('rev-parse', '--short', 'HEAD') or 'unknown'}"
            + (f", uncommitted changes: {dirty}" if dirty else ""))


#: The soak's control pattern (``realtime_soak.py``): one change per slot, the
#: parameters in turn, channels round-robin, uniform values in these ranges.
SOAK_CONTROLS = (("fader_db", -12.0, 0.0), ("eq.2.gain_db", -6.0, 6.0),
                 ("comp.threshold_db", -40.0, -20.0), ("pan", -1.0, 1.0))


def soak_changes(n_ch: int, seed: int = 4):
    """Yield the soak's control changes in order, as ``(path, value)``."""
    rnd = random.Random(seed)
    i = 0
    while True:
        name, lo, hi = SOAK_CONTROLS[i % len(SOAK_CONTROLS)]
        yield f"ch.{i % n_ch + 1}.{name}", rnd.uniform(lo, hi)
        i += 1
