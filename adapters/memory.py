"""Lock the daemon's memory so the audio thread never waits for a page.

The audio callback touches its arrays every period; a page the kernel has
reclaimed or not yet mapped costs a fault in the real-time thread. The
arrays are written once on the control thread when a plan is built
(``engine.live.prefault``); here the process's current pages are locked
(``mlockall(MCL_CURRENT)``), as JACK itself does with its own memory. It
needs ``RLIMIT_MEMLOCK`` (``LimitMEMLOCK=infinity`` in the systemd unit, the
``@audio - memlock unlimited`` line of Debian's jackd2, or root); without it
the daemon says so and runs on.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger("automixd")

MCL_CURRENT = 1


def lock_memory() -> bool:
    """``mlockall(MCL_CURRENT)``; True if the pages are now locked."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return False
    if libc.mlockall(MCL_CURRENT) != 0:
        err = ctypes.get_errno()
        log.info("memory not locked (mlockall: %s); raise RLIMIT_MEMLOCK (LimitMEMLOCK=infinity) "
                 "to keep the audio thread free of page faults", os.strerror(err))
        return False
    log.debug("memory locked (mlockall MCL_CURRENT)")
    return True
