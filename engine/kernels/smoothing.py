"""Parameter smoothing: small pure functions, the math beside each.

A one-pole low-pass y[n] = y[n-1] + a (x - y[n-1]) with a = 1 - exp(-1 / (tau fs))
reaches 1 - 1/e of a step after tau seconds; its largest per-sample step is
a * |x - y|, so a jump of the target never produces a step larger than that
(Ardour's gain smoothing; x42's per-sample glide with a snap). A retarget
mid-ramp simply continues from the current value.
"""

from __future__ import annotations

import math

from numba import njit

from .. import layout as L


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def one_pole_coef(tau_ms: float, fs_hz: float, step: float = 1.0) -> float:
    """Coefficient ``a`` of a one-pole reaching 63 % after ``tau_ms``.

    ``step`` is the update interval in samples (1 per sample, ``CTRL`` per tick).
    A zero or negative time constant gives 1 (jump).
    """
    if tau_ms <= 0.0:
        return 1.0
    return 1.0 - math.exp(-step * 1000.0 / (tau_ms * fs_hz))


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def approach(cur: float, target: float, a: float) -> float:
    """One smoothing step toward ``target``; snaps within ``SNAP`` (-100 dB)."""
    d = target - cur
    if abs(d) <= L.SNAP:
        return target
    return cur + a * d


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def db_to_gain(db: float) -> float:
    """Amplitude of ``db`` decibels; at or below -90 dB (fader off) it is 0."""
    if db <= -90.0:
        return 0.0
    return 10.0 ** (db * 0.05)
