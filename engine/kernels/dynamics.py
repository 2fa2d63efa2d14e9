"""Building blocks of the gate, compressor and limiter (per-sample, inlined)."""

from __future__ import annotations

from numba import njit

from .fastmath import amp_to_db
from .simd import where


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def peak_hold(ax, lvl, hold_count, since, hold_min, hold_max, refresh, release_a):
    """Peak detector with an adaptive hold: returns ``(level, hold_count, since)``.

    A sample above the held level takes it at once; one within ``refresh``
    of it restarts the hold, which lasts twice the samples ``since`` the
    previous restart (within ``hold_min..hold_max``); once the hold runs out
    the level falls by the one-pole ``release_a``. Written with selects only,
    for floats and for tiles of channels (``simd``; see ``layout.DET_*``).
    """
    since += 1.0
    up = ax >= lvl
    keep = (ax >= lvl * refresh) | up
    new_level = where(up, ax, where(keep | (hold_count > 0.0), lvl, lvl - release_a * lvl))
    hold = min(max(2.0 * since, hold_min), hold_max)
    new_count = where(keep, hold, max(hold_count - 1.0, 0.0))
    return new_level, new_count, where(keep, 0.0, since)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def comp_curve(level, thr_db, ratio, knee_db):
    """Wanted gain reduction in dB (>= 0) for a peak ``level`` (linear).

    Soft-knee static curve (Giannoulis, Massberg & Reiss, JAES 2012):
    below T - W/2 no reduction; inside the knee (1 - 1/R)(x - T + W/2)^2 / (2W);
    above T + W/2, (1 - 1/R)(x - T).
    """
    x_db = amp_to_db(level)
    over = x_db - thr_db
    slope = 1.0 - 1.0 / ratio
    if 2.0 * over <= -knee_db:
        return 0.0
    if 2.0 * over < knee_db:
        t = over + 0.5 * knee_db
        return slope * t * t / (2.0 * knee_db)
    return slope * over
