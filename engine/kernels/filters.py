"""RBJ biquads: coefficient design and the transposed direct form II tick.

Coefficients follow Robert Bristow-Johnson's Audio EQ Cookbook, normalised
by a0 and stored as (b0, b1, b2, a1, a2). State is float64: with float32
memories an 80 Hz high-pass at 48 kHz is only accurate to about -90 dB.
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


@njit(cache=True, nogil=True)
def design(kind: int, freq_hz: float, gain_db: float, q: float, fs_hz: float, out, at: int) -> None:
    """Write normalised RBJ coefficients ``b0 b1 b2 a1 a2`` to ``out[at:at+5]``.

    Parameters
    ----------
    kind : int
        One of PEAK, LOW_SHELF, HIGH_SHELF, NOTCH, LOW_PASS, HIGH_PASS.
    freq_hz : float
        Centre or corner frequency, clamped below 0.49 fs.
    gain_db : float
        Gain of peak and shelf shapes (ignored by the others).
    q : float
        Quality factor (shelves use the cookbook's Q form of the slope).
    """
    f = min(max(freq_hz, 1.0), 0.49 * fs_hz)
    w0 = 2.0 * math.pi * f / fs_hz
    cw = math.cos(w0)
    alpha = math.sin(w0) / (2.0 * q)
    big_a = 10.0 ** (gain_db / 40.0)
    if kind == PEAK:
        b0 = 1.0 + alpha * big_a
        b1 = -2.0 * cw
        b2 = 1.0 - alpha * big_a
        a0 = 1.0 + alpha / big_a
        a1 = -2.0 * cw
        a2 = 1.0 - alpha / big_a
    elif kind == LOW_SHELF:
        s = 2.0 * math.sqrt(big_a) * alpha
        b0 = big_a * ((big_a + 1.0) - (big_a - 1.0) * cw + s)
        b1 = 2.0 * big_a * ((big_a - 1.0) - (big_a + 1.0) * cw)
        b2 = big_a * ((big_a + 1.0) - (big_a - 1.0) * cw - s)
        a0 = (big_a + 1.0) + (big_a - 1.0) * cw + s
        a1 = -2.0 * ((big_a - 1.0) + (big_a + 1.0) * cw)
        a2 = (big_a + 1.0) + (big_a - 1.0) * cw - s
    elif kind == HIGH_SHELF:
        s = 2.0 * math.sqrt(big_a) * alpha
        b0 = big_a * ((big_a + 1.0) + (big_a - 1.0) * cw + s)
        b1 = -2.0 * big_a * ((big_a - 1.0) + (big_a + 1.0) * cw)
        b2 = big_a * ((big_a + 1.0) + (big_a - 1.0) * cw - s)
        a0 = (big_a + 1.0) - (big_a - 1.0) * cw + s
        a1 = 2.0 * ((big_a - 1.0) - (big_a + 1.0) * cw)
        a2 = (big_a + 1.0) - (big_a - 1.0) * cw - s
    elif kind == NOTCH:
        b0 = 1.0
        b1 = -2.0 * cw
        b2 = 1.0
        a0 = 1.0 + alpha
        a1 = -2.0 * cw
        a2 = 1.0 - alpha
    elif kind == LOW_PASS:
        b0 = (1.0 - cw) * 0.5
        b1 = 1.0 - cw
        b2 = b0
        a0 = 1.0 + alpha
        a1 = -2.0 * cw
        a2 = 1.0 - alpha
    else:  # HIGH_PASS
        b0 = (1.0 + cw) * 0.5
        b1 = -(1.0 + cw)
        b2 = b0
        a0 = 1.0 + alpha
        a1 = -2.0 * cw
        a2 = 1.0 - alpha
    inv = 1.0 / a0
    out[at] = b0 * inv
    out[at + 1] = b1 * inv
    out[at + 2] = b2 * inv
    out[at + 3] = a1 * inv
    out[at + 4] = a2 * inv


@njit(cache=True, nogil=True)
def identity(out, at: int) -> None:
    """Write the pass-through section (b0 = 1) to ``out[at:at+5]``."""
    out[at] = 1.0
    out[at + 1] = 0.0
    out[at + 2] = 0.0
    out[at + 3] = 0.0
    out[at + 4] = 0.0


@njit(cache=True, nogil=True, inline="always")
def tick(x, b0, b1, b2, a1, a2, z1, z2):
    """One sample through a TDF-II biquad; returns ``(y, z1, z2)``."""
    y = b0 * x + z1
    z1 = b1 * x - a1 * y + z2
    z2 = b2 * x - a2 * y
    return y, z1, z2
