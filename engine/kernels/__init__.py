"""Compiled DSP kernels (numba): everything here runs in the audio thread.

numba's on-disk cache is keyed by each function's own source file, so a
kernel compiled into its caller (``process_block`` inlines the strip) would
keep running stale machine code after a change to the callee or to the
constants in ``layout``/``params``. The cache therefore lives in a folder
named by a hash of every source the kernels are built from.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numba


def _kernel_source_hash() -> str:
    here = Path(__file__).resolve().parent
    files = sorted(here.glob("*.py")) + [here.parent / "layout.py", here.parent / "params.py"]
    digest = hashlib.sha256(numba.__version__.encode())
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


if not os.environ.get("NUMBA_CACHE_DIR"):
    _base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    numba.config.CACHE_DIR = str(_base / "automixd" / f"numba-{_kernel_source_hash()}")
