"""Bus processing: EQ per bus channel, linked compressor, fader, look-ahead limiter.

The limiter is a brick wall: the gain needed by each sample, min(1, c/|x|),
goes through a running minimum over the look-ahead window of ``n_la``
samples, a release toward unity, and a moving average of the same length.
Every average at time n is of minima that all include sample n - n_la + 1,
so the gain applied to that sample (the audio is late by n_la - 1) never
exceeds what it needs: the ceiling holds while the gain still moves smoothly.
"""

from __future__ import annotations

import math

from numba import njit

from .. import layout as L
from .dynamics import comp_curve, peak_hold
from .fastmath import db_to_amp
from .filters import tick


@njit(cache=True, nogil=True, error_model="numpy")
def bus_eq_segment(x, st, zs, n0, n1, a_switch, emix):
    """4-band EQ of one bus channel, in place; returns the wet/dry value reached.

    Coefficients that glide (``B_FRAMP``) are interpolated per sample from
    ``B_BQ`` by ``B_BQD``; the caller advances ``B_BQ`` once for all channels.
    """
    if st[L.B_FRAMP] != 0.0:
        return _bus_eq_ramp(x, st, zs, n0, n1, a_switch, emix)
    e = L.B_BQ
    p0a1, p0a2, p0a3, p0m0, p0m1, p0m2 = st[e], st[e + 1], st[e + 2], st[e + 3], st[e + 4], st[e + 5]
    e += 6
    p1a1, p1a2, p1a3, p1m0, p1m1, p1m2 = st[e], st[e + 1], st[e + 2], st[e + 3], st[e + 4], st[e + 5]
    e += 6
    p2a1, p2a2, p2a3, p2m0, p2m1, p2m2 = st[e], st[e + 1], st[e + 2], st[e + 3], st[e + 4], st[e + 5]
    e += 6
    p3a1, p3a2, p3a3, p3m0, p3m1, p3m2 = st[e], st[e + 1], st[e + 2], st[e + 3], st[e + 4], st[e + 5]
    e0z1, e0z2, e1z1, e1z2 = zs[0], zs[1], zs[2], zs[3]
    e2z1, e2z2, e3z1, e3z2 = zs[4], zs[5], zs[6], zs[7]
    emix_t = st[L.B_EQ_MIX_T]
    for n in range(n0, n1):
        v = float(x[n])
        y, e0z1, e0z2 = tick(v, p0a1, p0a2, p0a3, p0m0, p0m1, p0m2, e0z1, e0z2)
        y, e1z1, e1z2 = tick(y, p1a1, p1a2, p1a3, p1m0, p1m1, p1m2, e1z1, e1z2)
        y, e2z1, e2z2 = tick(y, p2a1, p2a2, p2a3, p2m0, p2m1, p2m2, e2z1, e2z2)
        y, e3z1, e3z2 = tick(y, p3a1, p3a2, p3a3, p3m0, p3m1, p3m2, e3z1, e3z2)
        emix += a_switch * (emix_t - emix)
        x[n] = v + emix * (y - v)
    zs[0], zs[1], zs[2], zs[3] = e0z1, e0z2, e1z1, e1z2
    zs[4], zs[5], zs[6], zs[7] = e2z1, e2z2, e3z1, e3z2
    if not math.isfinite(e0z1 + e0z2 + e1z1 + e1z2 + e2z1 + e2z2 + e3z1 + e3z2):
        for i in range(8):
            zs[i] = 0.0
        for n in range(n0, n1):
            x[n] = 0.0
    return emix


@njit(cache=True, nogil=True, error_model="numpy")
def _bus_eq_ramp(x, st, zs, n0, n1, a_switch, emix):
    emix_t = st[L.B_EQ_MIX_T]
    for n in range(n0, n1):
        v = float(x[n])
        y = v
        step = float(n - n0 + 1)
        for s in range(4):
            c = L.B_BQ + 6 * s
            d = L.B_BQD + 6 * s
            a1 = st[c] + step * st[d]
            a2 = st[c + 1] + step * st[d + 1]
            a3 = st[c + 2] + step * st[d + 2]
            m0 = st[c + 3] + step * st[d + 3]
            m1 = st[c + 4] + step * st[d + 4]
            m2 = st[c + 5] + step * st[d + 5]
            y, zs[2 * s], zs[2 * s + 1] = tick(y, a1, a2, a3, m0, m1, m2, zs[2 * s], zs[2 * s + 1])
        emix += a_switch * (emix_t - emix)
        x[n] = v + emix * (y - v)
    return emix


@njit(cache=True, nogil=True, error_model="numpy")
def reset_bus_state(st, la_x, la_r, la_m, c0, nch) -> None:
    """Clear dynamics and look-ahead after a non-finite value (keeps parameters)."""
    st[L.B_C_LVL] = 0.0
    st[L.B_C_DHC] = 0.0
    st[L.B_C_SINCE] = 0.0
    st[L.B_C_LVL_SEEN] = -1.0
    st[L.B_C_WANT] = 0.0
    st[L.B_C_GR] = 0.0
    st[L.B_C_GAIN] = 1.0
    st[L.B_GF] = st[L.B_GF_T]
    st[L.B_L_MR] = 1.0
    st[L.B_L_CALM] = 0.0
    n_la = la_r.shape[0]
    for i in range(n_la):
        la_r[i] = 1.0
        la_m[i] = 1.0
    st[L.B_L_SUM] = float(n_la)
    for c in range(nch):
        for i in range(n_la):
            la_x[c0 + c, i] = 0.0


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _ring_min(r, m):
    """``min(m, min(r))``, as eight interleaved running minima that map onto one
    vector register (a single running minimum is a chain of dependent compares:
    LLVM may not reorder it without fast-math). The minimum of the same values
    is the same in any order, so the result is exact."""
    n = r.shape[0]
    n8 = n - n % 8
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = m
    for i in range(0, n8, 8):
        m0 = min(m0, r[i])
        m1 = min(m1, r[i + 1])
        m2 = min(m2, r[i + 2])
        m3 = min(m3, r[i + 3])
        m4 = min(m4, r[i + 4])
        m5 = min(m5, r[i + 5])
        m6 = min(m6, r[i + 6])
        m7 = min(m7, r[i + 7])
    for i in range(n8, n):
        m0 = min(m0, r[i])
    return min(min(min(m0, m1), min(m2, m3)), min(min(m4, m5), min(m6, m7)))


@njit(cache=True, nogil=True, error_model="numpy")
def bus_segment(bus, c0, nch, st, bzs, la_x, la_r, la_m, out, n0, n1, k, am_key):
    """Process one bus (``nch`` channels from row ``c0``) for samples ``n0..n1``.

    Parameters
    ----------
    bus : float32[:, :]
        Bus sums from the mix; the EQ works in place.
    st : float64[:]
        The bus's state row; ``bzs`` holds its channels' EQ memories.
    la_x : float64[:, :]
        Look-ahead audio ring per bus channel; ``la_r``, ``la_m`` are this
        bus's needed-gain and smoothed-minimum rings.
    out : float32[:, :]
        Output rows (same numbering as ``bus``).
    am_key : float64[segment, groups]
        Per sample of this segment, each automix group's ducking key (power).
    """
    a_gain = k[0]
    a_switch = k[1]
    hold_min, hold_max, det_rel = k[2], k[6], k[3]
    n_la = la_r.shape[0]
    emix0 = st[L.B_EQ_MIX]
    emix = emix0
    for c in range(nch):
        emix = bus_eq_segment(bus[c0 + c], st, bzs[c0 + c], n0, n1, a_switch, emix0)
    st[L.B_EQ_MIX] = emix
    if st[L.B_FRAMP] != 0.0:
        for i in range(4 * 6):
            st[L.B_BQ + i] += (n1 - n0) * st[L.B_BQD + i]
    c_lvl, c_dhc, c_since, c_seen = st[L.B_C_LVL], st[L.B_C_DHC], st[L.B_C_SINCE], st[L.B_C_LVL_SEEN]
    c_want, c_gr = st[L.B_C_WANT], st[L.B_C_GR]
    c_on, c_thr, c_ratio, c_knee = st[L.B_C_ON], st[L.B_C_THR], st[L.B_C_RATIO], st[L.B_C_KNEE]
    c_att, c_rel, c_mk = st[L.B_C_ATT], st[L.B_C_REL], st[L.B_C_MAKEUP]
    c_gain = db_to_amp(c_mk - c_gr)
    # an idle compressor (off, nothing left to release, no make-up) is unity
    comp_live = c_on != 0.0 or c_gr != 0.0 or c_mk != 0.0
    gf, gf_t = st[L.B_GF], st[L.B_GF_T]
    ceil, ceil_t = st[L.B_L_CEIL], st[L.B_L_CEIL_T]
    l_on, l_rel, mr, msum = st[L.B_L_ON], st[L.B_L_REL], st[L.B_L_MR], st[L.B_L_SUM]
    calm = st[L.B_L_CALM]
    pos = int(st[L.B_L_POS])
    m_peak, m_sq = st[L.B_M_PEAK], st[L.B_M_SQ]
    m_comp, m_lim = st[L.B_M_COMP_GR], st[L.B_M_LIM_GR]
    inv_la = 1.0 / n_la
    dk_grp = int(st[L.B_DK_GRP])
    dk_g, dk_holdc = st[L.B_DK_G], st[L.B_DK_HOLDC]
    dk_depth, dk_thr, dk_att, dk_rel, dk_hold_n = (
        st[L.B_DK_DEPTH], st[L.B_DK_THR], st[L.B_DK_ATT], st[L.B_DK_REL], st[L.B_DK_HOLD_N])
    m_dk = st[L.B_M_DK_G2]
    lg_min = 1.0  # the meter converts the segment's deepest limiter gain to dB once
    for n in range(n0, n1):
        if comp_live:
            # linked detector: the loudest channel of the bus
            ax = 0.0
            for c in range(nch):
                ax = max(ax, abs(float(bus[c0 + c, n])))
            c_lvl, c_dhc, c_since = peak_hold(ax, c_lvl, c_dhc, c_since, hold_min, hold_max,
                                              L.DET_REFRESH, det_rel)
            if c_lvl != c_seen:
                c_seen = c_lvl
                c_want = comp_curve(c_lvl, c_thr, c_ratio, c_knee) if c_on != 0.0 else 0.0
            d = c_want - c_gr
            if d != 0.0:
                if abs(d) < 1e-6:
                    c_gr = c_want
                else:
                    c_gr += (c_att if d > 0.0 else c_rel) * d
                c_gain = db_to_amp(c_mk - c_gr)
            m_comp = max(m_comp, c_gr)
        gf += a_gain * (gf_t - gf)
        ceil += a_gain * (ceil_t - ceil)
        # ducking under an automix group's voices, keyed per sample
        if dk_grp >= 0 or dk_g != 1.0:
            key = dk_grp >= 0 and am_key[n - n0, max(dk_grp, 0)] > dk_thr
            dk_holdc = dk_hold_n if key else max(dk_holdc - 1.0, 0.0)
            target = dk_depth if (key or dk_holdc > 0.0) else 1.0
            dk_g += (dk_att if target < dk_g else dk_rel) * (target - dk_g)
            dk_g = target if abs(target - dk_g) <= 1e-9 else dk_g
        m_dk += dk_g * dk_g
        g = c_gain * gf * dk_g
        # limiter: this sample's needed gain enters the look-ahead rings
        nxt = pos + 1
        if nxt == n_la:
            nxt = 0
        peak = 0.0
        for c in range(nch):
            v = float(bus[c0 + c, n]) * g
            la_x[c0 + c, pos] = v
            peak = max(peak, abs(v))
        need = ceil / peak if (l_on != 0.0 and peak > ceil) else 1.0
        la_r[pos] = need
        # window minimum; while no sample in the window needed limiting it is 1
        calm = calm + 1.0 if need >= 1.0 else 0.0
        m = need
        if calm < n_la:
            m = _ring_min(la_r, m)
        mr = min(m, mr + l_rel * (1.0 - mr))
        msum += mr - la_m[pos]
        la_m[pos] = mr
        lg = msum * inv_la
        lg_min = min(lg_min, lg)
        for c in range(nch):
            # the oldest sample in the ring, n_la - 1 samples late, is the one
            # every minimum in this average has seen
            v = la_x[c0 + c, nxt] * lg
            if l_on != 0.0:
                v = min(max(v, -ceil), ceil)  # guards rounding only; the gain already holds it
            if not math.isfinite(v):
                v = 0.0
            out[c0 + c, n] = v
            m_peak = max(m_peak, abs(v))
            m_sq += v * v
        pos = nxt
        if pos == 0:
            msum = 0.0  # recompute the running sum exactly once per lap (no drift)
            for i in range(n_la):
                msum += la_m[i]
    st[L.B_C_LVL], st[L.B_C_DHC], st[L.B_C_SINCE], st[L.B_C_LVL_SEEN] = c_lvl, c_dhc, c_since, c_seen
    st[L.B_C_WANT], st[L.B_C_GR], st[L.B_C_GAIN] = c_want, c_gr, c_gain
    st[L.B_GF], st[L.B_L_CEIL], st[L.B_L_MR], st[L.B_L_SUM], st[L.B_L_POS] = gf, ceil, mr, msum, pos
    st[L.B_L_CALM] = calm
    st[L.B_DK_G], st[L.B_DK_HOLDC], st[L.B_M_DK_G2] = dk_g, dk_holdc, m_dk
    m_lim = max(m_lim, -20.0 * math.log10(max(lg_min, 1e-9)))
    st[L.B_M_PEAK], st[L.B_M_SQ], st[L.B_M_COMP_GR], st[L.B_M_LIM_GR] = m_peak, m_sq, m_comp, m_lim
    st[L.B_M_N] += n1 - n0
    if not math.isfinite(c_lvl + c_gr + c_gain + gf + mr + msum):
        reset_bus_state(st, la_x, la_r, la_m, c0, nch)
        st[L.B_M_NONFINITE] += 1.0
