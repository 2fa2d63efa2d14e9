"""Filters: RBJ cookbook responses realised as trapezoidal state-variable filters.

The magnitude responses are Robert Bristow-Johnson's Audio EQ Cookbook
shapes (the bilinear transform of the same analog prototypes, pre-warped at
the centre frequency), but the structure is Andrew Simper's linear
trapezoidal SVF (Cytomic, "SvfLinearTrapOptimised2", 2013): its states are
the integrators' (capacitor) values, so moving a frequency or gain while
audio runs gives no thump, where a direct-form biquad whose coefficients
glide rings (measured: a 0 -> +12 dB bell sweep at 100 Hz stepped 1.8x the
steady tone's largest sample-to-sample change in TDF-II, none here).

Coefficients per section: ``a1 a2 a3 m0 m1 m2``; state ``ic1 ic2`` (float64).
Per sample::

    v3 = x - ic2;  v1 = a1 ic1 + a2 v3;  v2 = ic2 + a2 ic1 + a3 v3
    ic1 = 2 v1 - ic1;  ic2 = 2 v2 - ic2;  y = m0 x + m1 v1 + m2 v2
"""

from __future__ import annotations

import math

from numba import njit

# Shapes, in the order of params.EQ_TYPES.
PEAK, LOW_SHELF, HIGH_SHELF, NOTCH, LOW_PASS, HIGH_PASS = 0, 1, 2, 3, 4, 5
#: Q of the two sections of a 4th-order Butterworth: 1 / (2 cos(pi/8)), 1 / (2 cos(3pi/8)).
BUTTER4_Q1 = 0.5411961001461969
BUTTER4_Q2 = 1.3065629648763764
BUTTER2_Q = 0.7071067811865476
#: Coefficients per section.
N_COEF = 6


@njit(cache=True, nogil=True, error_model="numpy")
def design(kind: int, freq_hz: float, gain_db: float, q: float, fs_hz: float, out, at: int) -> None:
    """Write the SVF coefficients ``a1 a2 a3 m0 m1 m2`` to ``out[at:at+6]``.

    Parameters
    ----------
    kind : int
        One of PEAK, LOW_SHELF, HIGH_SHELF, NOTCH, LOW_PASS, HIGH_PASS.
    freq_hz : float
        Centre or corner frequency, clamped below 0.49 fs.
    gain_db : float
        Gain of peak and shelf shapes (ignored by the others).
    q : float
        Quality factor, as in the cookbook (shelves: its Q form of the slope).
    """
    design_warped(kind, prewarp(freq_hz, fs_hz), gain_db, q, out, at)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def prewarp(freq_hz: float, fs_hz: float) -> float:
    """``tan(pi f / fs)`` of ``freq_hz`` clamped to [1 Hz, 0.49 fs]: the
    bilinear transform's frequency warping, the SVF's ``g`` before shelving."""
    f = min(max(freq_hz, 1.0), 0.49 * fs_hz)
    return math.tan(math.pi * f / fs_hz)


@njit(cache=True, nogil=True, error_model="numpy")
def design_warped(kind: int, g: float, gain_db: float, q: float, out, at: int) -> None:
    """:func:`design` from the prewarped frequency ``g`` (:func:`prewarp`):
    a band whose gain alone glides is redesigned without a tangent."""
    k = 1.0 / q
    big_a = 10.0 ** (gain_db / 40.0)
    m0, m1, m2 = 1.0, 0.0, 0.0
    if kind == PEAK:
        k = 1.0 / (q * big_a)
        m1 = k * (big_a * big_a - 1.0)
    elif kind == LOW_SHELF:
        g /= math.sqrt(big_a)
        m1 = k * (big_a - 1.0)
        m2 = big_a * big_a - 1.0
    elif kind == HIGH_SHELF:
        g *= math.sqrt(big_a)
        m0 = big_a * big_a
        m1 = k * (1.0 - big_a) * big_a
        m2 = 1.0 - big_a * big_a
    elif kind == NOTCH:
        m1 = -k
    elif kind == LOW_PASS:
        m0 = 0.0
        m2 = 1.0
    else:  # HIGH_PASS
        m1 = -k
        m2 = -1.0
    a1 = 1.0 / (1.0 + g * (g + k))
    a2 = g * a1
    out[at] = a1
    out[at + 1] = a2
    out[at + 2] = g * a2
    out[at + 3] = m0
    out[at + 4] = m1
    out[at + 5] = m2


@njit(cache=True, nogil=True, error_model="numpy")
def identity(out, at: int) -> None:
    """Write a pass-through section (y = x) to ``out[at:at+6]``."""
    out[at] = 1.0
    out[at + 1] = 0.0
    out[at + 2] = 0.0
    out[at + 3] = 1.0
    out[at + 4] = 0.0
    out[at + 5] = 0.0


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def tick(x, a1, a2, a3, m0, m1, m2, ic1, ic2):
    """One sample through an SVF section; returns ``(y, ic1, ic2)``."""
    v3 = x - ic2
    v1 = a1 * ic1 + a2 * v3
    v2 = ic2 + a2 * ic1 + a3 * v3
    return m0 * x + m1 * v1 + m2 * v2, 2.0 * v1 - ic1, 2.0 * v2 - ic2
