"""The channel strip, fused per sample, and the channel-to-bus mix.

``strip_segment`` runs trim, polarity, delay, high-pass, gate, EQ and
compressor for one channel over a segment between two control ticks and
writes the pre-fader signal. ``mix_segment`` applies fader, pan and sends and
sums into the bus buffers. The automixer (issue 3) sits between the two.

Both follow the x42 kernel shape: state into locals, loop, state back,
reset if anything went non-finite.
"""

from __future__ import annotations

import math

from numba import njit

from .. import layout as L
from .dynamics import comp_curve, peak_hold
from .fastmath import db_to_amp
from .filters import tick

#: Inputs beyond +80 dBFS are treated as corrupt, like NaN and Inf: replaced by 0.
INPUT_LIMIT = 1.0e4


@njit(cache=True, nogil=True)
def reset_channel_state(st) -> None:
    """Clear filter memories and dynamics after a non-finite value (keeps parameters)."""
    for i in range(12):
        st[L.C_Z + i] = 0.0
    st[L.C_G_LVL] = 0.0
    st[L.C_G_DHC] = 0.0
    st[L.C_G_OPEN] = 0.0
    st[L.C_G_HOLDC] = 0.0
    st[L.C_G_GAIN] = st[L.C_G_FLOOR]
    st[L.C_C_LVL] = 0.0
    st[L.C_C_DHC] = 0.0
    st[L.C_C_LVL_SEEN] = -1.0
    st[L.C_C_WANT] = 0.0
    st[L.C_C_GR] = 0.0
    st[L.C_C_GAIN] = 1.0
    for s in (L.C_GIN, L.C_HPF_MIX, L.C_EQ_MIX):
        st[s] = st[s + 1]


@njit(cache=True, nogil=True)
def strip_segment(x_in, has_input, st, ring, pre, n0, n1, k):
    """Process samples ``n0..n1`` of one channel up to the pre-fader point.

    Parameters
    ----------
    x_in : float32[:]
        The channel's input samples for the block.
    has_input : bool
        False for a channel with no input (it processes silence).
    st : float64[:]
        The channel's state row.
    ring : float32[:]
        The channel's delay ring.
    pre : float32[:]
        Output: the post-compressor, pre-fader signal.
    k : float64[:]
        Per-plan constants: see ``plan.K_*``.
    """
    a_gain = k[0]
    a_switch = k[1]
    det_hold = k[2]
    det_rel = k[3]
    xf_step = k[4]
    n_ring = ring.shape[0]
    # -- load state ------------------------------------------------------
    h0b0, h0b1, h0b2, h0a1, h0a2 = st[L.C_BQ], st[L.C_BQ + 1], st[L.C_BQ + 2], st[L.C_BQ + 3], st[L.C_BQ + 4]
    h1b0, h1b1, h1b2, h1a1, h1a2 = st[L.C_BQ + 5], st[L.C_BQ + 6], st[L.C_BQ + 7], st[L.C_BQ + 8], st[L.C_BQ + 9]
    e = L.C_BQ + 10
    e0b0, e0b1, e0b2, e0a1, e0a2 = st[e], st[e + 1], st[e + 2], st[e + 3], st[e + 4]
    e1b0, e1b1, e1b2, e1a1, e1a2 = st[e + 5], st[e + 6], st[e + 7], st[e + 8], st[e + 9]
    e2b0, e2b1, e2b2, e2a1, e2a2 = st[e + 10], st[e + 11], st[e + 12], st[e + 13], st[e + 14]
    e3b0, e3b1, e3b2, e3a1, e3a2 = st[e + 15], st[e + 16], st[e + 17], st[e + 18], st[e + 19]
    z = L.C_Z
    h0z1, h0z2, h1z1, h1z2 = st[z], st[z + 1], st[z + 2], st[z + 3]
    e0z1, e0z2, e1z1, e1z2 = st[z + 4], st[z + 5], st[z + 6], st[z + 7]
    e2z1, e2z2, e3z1, e3z2 = st[z + 8], st[z + 9], st[z + 10], st[z + 11]
    gin, gin_t = st[L.C_GIN], st[L.C_GIN_T]
    hmix, hmix_t = st[L.C_HPF_MIX], st[L.C_HPF_MIX_T]
    emix, emix_t = st[L.C_EQ_MIX], st[L.C_EQ_MIX_T]
    d_cur, d_old, xf = int(st[L.C_DLY]), int(st[L.C_DLY_OLD]), st[L.C_DLY_XF]
    w = int(st[L.C_DLY_W])
    g_lvl, g_dhc, g_open, g_holdc, g_gain = (
        st[L.C_G_LVL], st[L.C_G_DHC], st[L.C_G_OPEN], st[L.C_G_HOLDC], st[L.C_G_GAIN])
    g_thr_open, g_thr_close, g_floor = st[L.C_G_THR_OPEN], st[L.C_G_THR_CLOSE], st[L.C_G_FLOOR]
    g_att, g_rel, g_hold_n = st[L.C_G_ATT], st[L.C_G_REL], st[L.C_G_HOLD_N]
    c_lvl, c_dhc, c_seen, c_want, c_gr = (
        st[L.C_C_LVL], st[L.C_C_DHC], st[L.C_C_LVL_SEEN], st[L.C_C_WANT], st[L.C_C_GR])
    c_on, c_thr, c_ratio, c_knee = st[L.C_C_ON], st[L.C_C_THR], st[L.C_C_RATIO], st[L.C_C_KNEE]
    c_att, c_rel, c_mk = st[L.C_C_ATT], st[L.C_C_REL], st[L.C_C_MAKEUP]
    c_gain = db_to_amp(c_mk - c_gr)
    m_in_peak, m_in_sq, m_comp = st[L.C_M_IN_PEAK], st[L.C_M_IN_SQ], st[L.C_M_COMP_GR]
    n_bad = 0.0
    # -- per sample ----------------------------------------------------------
    for n in range(n0, n1):
        x = float(x_in[n]) if has_input else 0.0
        ax = abs(x)
        if not ax <= INPUT_LIMIT:  # NaN, Inf or absurd: count and drop
            x = 0.0
            ax = 0.0
            n_bad += 1.0
        m_in_peak = max(m_in_peak, ax)
        m_in_sq += x * x
        # trim and polarity (one smoothed gain; a polarity flip ramps through 0)
        gin += a_gain * (gin_t - gin)
        x *= gin
        # alignment delay, crossfading from the old tap after a change
        ring[w] = x
        if d_cur != 0 or xf < 1.0:
            r = w - d_cur
            if r < 0:
                r += n_ring
            y = float(ring[r])
            if xf < 1.0:
                r = w - d_old
                if r < 0:
                    r += n_ring
                y = xf * y + (1.0 - xf) * float(ring[r])
                xf = min(xf + xf_step, 1.0)
            x = y
        w += 1
        if w == n_ring:
            w = 0
        # high-pass (two sections; the second is unity at 12 dB/oct), wet/dry switch
        y, h0z1, h0z2 = tick(x, h0b0, h0b1, h0b2, h0a1, h0a2, h0z1, h0z2)
        y, h1z1, h1z2 = tick(y, h1b0, h1b1, h1b2, h1a1, h1a2, h1z1, h1z2)
        hmix += a_switch * (hmix_t - hmix)
        x += hmix * (y - x)
        # gate: held-peak detector, open above threshold, close below it minus
        # hysteresis once the hold has run out; gain glides in linear amplitude
        g_lvl, g_dhc = peak_hold(abs(x), g_lvl, g_dhc, det_hold, L.DET_REFRESH, det_rel)
        if g_open != 0.0:
            if g_lvl >= g_thr_close:
                g_holdc = g_hold_n
            elif g_holdc > 0.0:
                g_holdc -= 1.0
            else:
                g_open = 0.0
        elif g_lvl >= g_thr_open:
            g_open = 1.0
            g_holdc = g_hold_n
        g_t = 1.0 if g_open != 0.0 else g_floor
        g_gain += (g_att if g_t > g_gain else g_rel) * (g_t - g_gain)
        x *= g_gain
        # 4-band EQ, wet/dry switch
        y, e0z1, e0z2 = tick(x, e0b0, e0b1, e0b2, e0a1, e0a2, e0z1, e0z2)
        y, e1z1, e1z2 = tick(y, e1b0, e1b1, e1b2, e1a1, e1a2, e1z1, e1z2)
        y, e2z1, e2z2 = tick(y, e2b0, e2b1, e2b2, e2a1, e2a2, e2z1, e2z2)
        y, e3z1, e3z2 = tick(y, e3b0, e3b1, e3b2, e3a1, e3a2, e3z1, e3z2)
        emix += a_switch * (emix_t - emix)
        x += emix * (y - x)
        # compressor: held-peak detector -> static curve (only when the level
        # moved) -> reduction smoothed in dB with attack/release -> gain
        c_lvl, c_dhc = peak_hold(abs(x), c_lvl, c_dhc, det_hold, L.DET_REFRESH, det_rel)
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
        pre[n] = x * c_gain
    # -- store state -----------------------------------------------------------
    st[z], st[z + 1], st[z + 2], st[z + 3] = h0z1, h0z2, h1z1, h1z2
    st[z + 4], st[z + 5], st[z + 6], st[z + 7] = e0z1, e0z2, e1z1, e1z2
    st[z + 8], st[z + 9], st[z + 10], st[z + 11] = e2z1, e2z2, e3z1, e3z2
    st[L.C_GIN] = gin
    st[L.C_HPF_MIX] = hmix
    st[L.C_EQ_MIX] = emix
    st[L.C_DLY_XF] = xf
    st[L.C_DLY_W] = w
    st[L.C_G_LVL], st[L.C_G_DHC], st[L.C_G_OPEN], st[L.C_G_HOLDC], st[L.C_G_GAIN] = (
        g_lvl, g_dhc, g_open, g_holdc, g_gain)
    st[L.C_C_LVL], st[L.C_C_DHC], st[L.C_C_LVL_SEEN], st[L.C_C_WANT], st[L.C_C_GR] = (
        c_lvl, c_dhc, c_seen, c_want, c_gr)
    st[L.C_C_GAIN] = c_gain
    st[L.C_M_IN_PEAK], st[L.C_M_IN_SQ], st[L.C_M_COMP_GR] = m_in_peak, m_in_sq, m_comp
    st[L.C_M_GATE_GR] = max(st[L.C_M_GATE_GR], -20.0 * math.log10(max(g_gain, 1e-9)))
    st[L.C_M_NONFINITE] += n_bad
    # any non-finite state (it can only come from a bad coefficient or an
    # overflow) resets the channel's memories; the next segment is clean
    total = (h0z1 + h0z2 + h1z1 + h1z2 + e0z1 + e0z2 + e1z1 + e1z2 + e2z1 + e2z2 + e3z1 + e3z2
             + g_lvl + g_gain + c_lvl + c_gr + c_gain + gin)
    if not math.isfinite(total):
        reset_channel_state(st)
        st[L.C_M_NONFINITE] += 1.0
        for n in range(n0, n1):
            pre[n] = 0.0


@njit(cache=True, nogil=True)
def mix_segment(pre, st, send_st, bus_first, bus_nch, bus, n0, n1, a_gain):
    """Fader, mute, pan and sends of one channel, summed into ``bus``.

    The main bus (bus 0, stereo) takes the post-fader signal, constant-power
    panned and scaled by the main assign; aux bus ``b`` takes ``pre`` or the
    post-fader signal times the send gain, panned if the bus is stereo.

    Parameters
    ----------
    send_st : float64[:, 3]
        Per bus: smoothed send gain, its target, and 1 for a pre-fader send.
    """
    gf, gf_t = st[L.C_GF], st[L.C_GF_T]
    gm, gm_t = st[L.C_MAIN], st[L.C_MAIN_T]
    pl, pl_t = st[L.C_PL], st[L.C_PL_T]
    pr, pr_t = st[L.C_PR], st[L.C_PR_T]
    m_peak, m_sq = st[L.C_M_OUT_PEAK], st[L.C_M_OUT_SQ]
    n_bus = bus_first.shape[0]
    for n in range(n0, n1):
        x = float(pre[n])
        gf += a_gain * (gf_t - gf)
        gm += a_gain * (gm_t - gm)
        pl += a_gain * (pl_t - pl)
        pr += a_gain * (pr_t - pr)
        xf = x * gf
        m_peak = max(m_peak, abs(xf))
        m_sq += xf * xf
        xm = xf * gm
        bus[0, n] += xm * pl
        bus[1, n] += xm * pr
        for b in range(1, n_bus):
            s = send_st[b, 0]
            s += a_gain * (send_st[b, 1] - s)
            send_st[b, 0] = s
            src = (x if send_st[b, 2] >= 0.5 else xf) * s
            c0 = bus_first[b]
            if bus_nch[b] == 2:
                bus[c0, n] += src * pl
                bus[c0 + 1, n] += src * pr
            else:
                bus[c0, n] += src
    st[L.C_GF], st[L.C_MAIN], st[L.C_PL], st[L.C_PR] = gf, gm, pl, pr
    st[L.C_M_OUT_PEAK], st[L.C_M_OUT_SQ] = m_peak, m_sq
    st[L.C_M_N] += n1 - n0
