"""Building blocks of the gate, compressor and limiter (per-sample, inlined)."""

from __future__ import annotations



from numba import njit

from .fastmath import amp_to_db


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def peak_hold(ax, lvl, hold_count, hold_n, refresh, release_a):
    """Peak detector with hold: returns ``(level, hold_count)``.

    A sample above the held level takes it at once; one within ``refresh``
    of it restarts the hold; once the hold runs out the level falls by the
    one-pole ``release_a``. Held peaks make the detector ripple-free on
    steady tones above 1 / (2 hold) Hz, so static curves read true.
    """
    if ax >= lvl:
        return ax, hold_n
    if ax >= lvl * refresh:
        return lvl, hold_n
    if hold_count > 0:
        return lvl, hold_count - 1
    return lvl - release_a * lvl, 0.0


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
