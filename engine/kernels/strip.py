"""The channel strip as stage passes vectorised across channels.

State is structure-of-arrays: ``S[slot, ch]``. The work buffer ``w`` is
``(segment, channels)``: segments never exceed one control tick (``CTRL``
samples), so the work buffers stay small and cache-resident whatever the
host block size. Each recursive stage (filter section, gate, compressor) is a
pass whose inner loop runs over channels with no branches, so LLVM's loop
vectoriser processes 4-8 channels per instruction; measured on the 6
filter sections of a strip, 3.8 ns per channel-sample against 9.5 ns for the
channel-at-a-time loop. Every channel still sees exactly the same
arithmetic in the same order, so the output does not depend on the block
size or on how many channels share a pass. The filter sections and the gate
go one step further: they run over tiles of eight channels held in registers
for a whole segment (``simd``), so their coefficients and state are not
reloaded every sample.

Order: ``input_pass`` (sanitise, meter, trim and polarity), ``delay_pass``,
high-pass (two SVF sections) with its in/out crossfade, gate, 4-band EQ with
its crossfade, compressor. ``w`` then holds the pre-fader signal, which the
automixer (issue 3) and ``mix_pass`` (fader, pan, sends) read.
"""

from __future__ import annotations

import math

from numba import njit

from .. import layout as L
from . import simd as V
from .dynamics import peak_hold
from .fastmath import amp_to_db, db_to_amp
from .filters import N_COEF, tick

#: Inputs beyond +80 dBFS are treated as corrupt, like NaN and Inf: replaced by 0.
INPUT_LIMIT = 1.0e4


@njit(cache=True, nogil=True, error_model="numpy")
def input_pass(inp, ch_in, S, w, n0, n1, a_gain, off):
    """Read inputs ``off + n0 .. off + n1`` into rows ``n0..n1`` of ``w``: drop
    non-finite samples, meter, trim. A channel with ``ch_in < 0`` reads silence.
    """
    _input(inp, ch_in, S[L.C_GIN], S[L.C_GIN_T], S[L.C_M_IN_PEAK], S[L.C_M_IN_SQ],
           S[L.C_M_NONFINITE], w, n0, n1, a_gain, off)


@njit(cache=True, nogil=True, error_model="numpy")
def _input(inp, ch_in, gin, gin_t, m_peak, m_sq, m_bad, w, n0, n1, a_gain, off):
    # transpose first (a gather across channels costs more than this copy),
    # eight channels at a time so each row of w is written in whole cache
    # lines (1.6 us instead of 3.1 at 64 x 64); then the arithmetic runs
    # on tiles of channels
    n_ch = w.shape[1]
    n8 = n_ch - n_ch % 8
    for cb in range(0, n8, 8):
        r0, r1, r2, r3 = _in_row(inp, ch_in[cb]), _in_row(inp, ch_in[cb + 1]), \
            _in_row(inp, ch_in[cb + 2]), _in_row(inp, ch_in[cb + 3])
        r4, r5, r6, r7 = _in_row(inp, ch_in[cb + 4]), _in_row(inp, ch_in[cb + 5]), \
            _in_row(inp, ch_in[cb + 6]), _in_row(inp, ch_in[cb + 7])
        for n in range(n0, n1):
            i = off + n
            w[n, cb], w[n, cb + 1], w[n, cb + 2], w[n, cb + 3] = r0[i], r1[i], r2[i], r3[i]
            w[n, cb + 4], w[n, cb + 5], w[n, cb + 6], w[n, cb + 7] = r4[i], r5[i], r6[i], r7[i]
    for c in range(n8, n_ch):
        row = _in_row(inp, ch_in[c])
        for n in range(n0, n1):
            w[n, c] = row[off + n]
    # a channel without an input reads silence
    for c in range(n_ch):
        if ch_in[c] < 0:
            for n in range(n0, n1):
                w[n, c] = 0.0
    # the meters and the trim gain stay in registers for the segment (the
    # channel loops stored four state rows every sample: 2.1 -> 1.1 us at 64 x 64)
    V.on_tiles(_in_load, _in_step, _in_store, ((m_bad, m_peak, m_sq, gin, gin_t), a_gain), w, w, n0, n1)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _in_load(rows_a, cb, k):
    rows, a_gain = rows_a
    return (V.load(rows[0], cb, k), V.load(rows[1], cb, k), V.load(rows[2], cb, k), V.load(rows[3], cb, k)), \
        V.load(rows[4], cb, k), a_gain


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _in_step(src, dst, cb, k, t):
    (m_bad, m_peak, m_sq, g), g_t, a_gain = t
    x = V.load(src, cb, k)
    bad = ~(abs(x) <= INPUT_LIMIT)  # NaN, Inf or absurd: count and drop
    x = V.where(bad, 0.0, x)
    m_bad = m_bad + V.where(bad, 1.0, 0.0)
    m_peak = max(m_peak, abs(x))
    m_sq = m_sq + x * x
    # trim and polarity are one smoothed gain: a flip ramps through 0
    g = g + a_gain * (g_t - g)
    V.store(dst, cb, k, x * g)
    return (m_bad, m_peak, m_sq, g), g_t, a_gain


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _in_store(rows_a, cb, k, t):
    V.store_rows(rows_a[0][:4], cb, k, t[0])


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _in_row(inp, src):
    return inp[max(src, 0)]


@njit(cache=True, nogil=True, error_model="numpy")
def delay_pass(S, ring, w, n0, n1, xf_step, ctl):
    """Alignment delay; a changed delay crossfades from the old tap to the new.

    The ring is (samples, channels) with one shared write index. Only channels
    with a delay (or a crossfade running) write it; ``C_DLY_LIVE`` counts the
    history a channel has written since it last had none, so a tap reaching
    further back reads silence (as a fresh delay line would), and a crossfade
    to a new tap waits until that tap holds real signal.
    """
    n_ring = ring.shape[0]
    wi = ctl[L.CTL_DLY_W]
    active = False
    for c in range(w.shape[1]):
        if S[L.C_DLY, c] != 0.0 or S[L.C_DLY_XF, c] < 1.0:
            active = True
        else:
            S[L.C_DLY_LIVE, c] = 0.0
    if active:
        for n in range(n0, n1):
            ri0 = wi
            for c in range(w.shape[1]):
                d_cur = int(S[L.C_DLY, c])
                xf = S[L.C_DLY_XF, c]
                if d_cur == 0 and xf >= 1.0:
                    continue
                ring[wi, c] = w[n, c]
                live = min(S[L.C_DLY_LIVE, c] + 1.0, float(n_ring))
                S[L.C_DLY_LIVE, c] = live
                y = _tap(ring, ri0, d_cur, c, live, n_ring)
                if xf < 1.0:
                    old = _tap(ring, ri0, int(S[L.C_DLY_OLD, c]), c, live, n_ring)
                    y = xf * y + (1.0 - xf) * old
                    if live > d_cur:
                        S[L.C_DLY_XF, c] = min(xf + xf_step, 1.0)
                w[n, c] = y
            wi += 1
            if wi == n_ring:
                wi = 0
    else:
        wi = (wi + n1 - n0) % n_ring
    ctl[L.CTL_DLY_W] = wi


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _tap(ring, wi, d, c, live, n_ring):
    """The sample written ``d`` samples before index ``wi``; silence before the history."""
    if live <= d:
        return 0.0
    ri = wi - d
    if ri < 0:
        ri += n_ring
    return float(ring[ri, c])


@njit(cache=True, nogil=True, error_model="numpy")
def filter_pair_pass(w, S, k0, z0, n0, n1, ramp):
    """Two consecutive SVF sections in one sweep over ``w`` (half the memory
    traffic of two passes). With ``ramp`` a section whose coefficients move
    on some channel advances them by their per-sample increments instead
    (adding zero increments changes nothing, so the channels and sections
    that do not move give the same samples either way: one EQ band gliding
    on one channel sends only that band down the slower path)."""
    k1 = k0 + N_COEF
    if ramp:
        moving = sections_moving(S, k0)
        if moving != 0:
            _svf2_ramp(w, S, k0, k0 + (L.C_BQD - L.C_BQ), z0, k1, k1 + (L.C_BQD - L.C_BQ), z0 + 2,
                       n0, n1, moving & 1 != 0, moving & 2 != 0)
            return
    _svf2(w, S, k0, z0, k1, z0 + 2, n0, n1)


@njit(cache=True, nogil=True, error_model="numpy")
def sections_moving(S, k0) -> int:
    """Bits 0 and 1 for the two sections whose coefficients start at row
    ``k0``, set where some channel ramps that section (``C_FRAMP`` has a bit
    per moving section)."""
    sh = (k0 - L.C_BQ) // N_COEF
    bits = 0
    for c in range(S.shape[1]):
        bits |= int(S[L.C_FRAMP, c]) >> sh & 3
    return bits


# The sections run over tiles of eight channels (simd.WIDTH) held in registers
# for the whole segment: coefficients and state are loaded once per tile, not
# once per sample as the channel-vectorised loops did. A last partial tile
# runs masked. Each channel's arithmetic, and so each sample, is the same as
# the scalar `tick`'s (the outputs are bit-identical to the loops'). Measured
# in the engine at 64 x 128 under the soak's control traffic (high-pass pair;
# EQ, one pair gliding): 8.2-9.4 -> 5.6-6.0 us and 19.8-24.3 -> 13.0-14.9 us
# a block, three side-by-side runs.
@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _svf2_ramp(w, S, ka, da, za, kb, db, zb, n0, n1, ramp_a, ramp_b):
    """Two sections (coefficient rows from ``ka`` and ``kb``, increments from
    ``da`` and ``db``, state from ``za`` and ``zb``); those with ``ramp_*``
    advance their coefficients by their increments every sample (a channel
    that does not glide has zero increments). One tile at a time: 28
    registers of coefficients, increments and state leave no room for a
    second."""
    n_ch = w.shape[1]
    for cb in range(0, n_ch, V.WIDTH):
        k = n_ch - cb
        if k >= V.WIDTH:
            _svf2_ramp_tile(w, S, ka, da, za, kb, db, zb, n0, n1, ramp_a, ramp_b, cb, V.WIDTH)
        else:
            _svf2_ramp_tile(w, S, ka, da, za, kb, db, zb, n0, n1, ramp_a, ramp_b, cb, k)


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"}, inline="always")
def _svf2_ramp_tile(w, S, ka, da, za, kb, db, zb, n0, n1, ramp_a, ramp_b, cb, k):
    c1, c2, c3, k0, k1, k2 = _load6(S, ka, cb, k)
    e1, e2, e3, l0, l1, l2 = _load6(S, kb, cb, k)
    z1, z2, y1, y2 = _load_state(S, za, zb, cb, k)
    i1, i2, i3, j0, j1, j2 = _steps(S, da, cb, k, ramp_a)
    f1, f2, f3, g0, g1, g2 = _steps(S, db, cb, k, ramp_b)
    for n in range(n0, n1):
        c1, c2, c3, k0, k1, k2 = c1 + i1, c2 + i2, c3 + i3, k0 + j0, k1 + j1, k2 + j2
        e1, e2, e3, l0, l1, l2 = e1 + f1, e2 + f2, e3 + f3, l0 + g0, l1 + g1, l2 + g2
        row = w[n]
        x, z1, z2 = tick(V.load(row, cb, k), c1, c2, c3, k0, k1, k2, z1, z2)
        x, y1, y2 = tick(x, e1, e2, e3, l0, l1, l2, y1, y2)
        V.store(row, cb, k, x)
    _store_state(S, za, zb, cb, k, z1, z2, y1, y2)
    if ramp_a:
        _store6(S, ka, cb, k, c1, c2, c3, k0, k1, k2)
    if ramp_b:
        _store6(S, kb, cb, k, e1, e2, e3, l0, l1, l2)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _load6(S, r, cb, k):
    """Rows ``r .. r + 5`` of tile ``cb``: a section's coefficients or increments."""
    return (V.load(S[r], cb, k), V.load(S[r + 1], cb, k), V.load(S[r + 2], cb, k),
            V.load(S[r + 3], cb, k), V.load(S[r + 4], cb, k), V.load(S[r + 5], cb, k))


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _load_state(S, za, zb, cb, k):
    """The integrator states of two sections (rows ``za``, ``za + 1``, ``zb``, ``zb + 1``) of tile ``cb``."""
    return V.load(S[za], cb, k), V.load(S[za + 1], cb, k), V.load(S[zb], cb, k), V.load(S[zb + 1], cb, k)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _store_state(S, za, zb, cb, k, z1, z2, y1, y2):
    V.store(S[za], cb, k, z1)
    V.store(S[za + 1], cb, k, z2)
    V.store(S[zb], cb, k, y1)
    V.store(S[zb + 1], cb, k, y2)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _steps(S, d, cb, k, ramp):
    """A section's per-sample coefficient increments, or zeros when it holds still."""
    if ramp:
        return _load6(S, d, cb, k)
    z = V.splat(0.0)
    return z, z, z, z, z, z


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _store6(S, r, cb, k, t1, t2, t3, t4, t5, t6):
    V.store(S[r], cb, k, t1)
    V.store(S[r + 1], cb, k, t2)
    V.store(S[r + 2], cb, k, t3)
    V.store(S[r + 3], cb, k, t4)
    V.store(S[r + 4], cb, k, t5)
    V.store(S[r + 5], cb, k, t6)


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _svf2(w, S, ka, za, kb, zb, n0, n1):
    """Two sections that hold still (coefficient rows from ``ka`` and ``kb``,
    state from ``za`` and ``zb``). Two tiles at a time where two are left:
    one tile's sample-to-sample recursion is a chain of dependent
    multiply-adds, and a second, independent chain fills its gaps (32
    registers)."""
    n_ch = w.shape[1]
    cb = 0
    while n_ch - cb >= 2 * V.WIDTH:
        _svf2_tiles(w, S, ka, za, kb, zb, n0, n1, cb)
        cb += 2 * V.WIDTH
    while cb < n_ch:
        k = n_ch - cb
        if k >= V.WIDTH:
            _svf2_tile(w, S, ka, za, kb, zb, n0, n1, cb, V.WIDTH)
        else:
            _svf2_tile(w, S, ka, za, kb, zb, n0, n1, cb, k)
        cb += V.WIDTH


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"}, inline="always")
def _svf2_tile(w, S, ka, za, kb, zb, n0, n1, cb, k):
    c1, c2, c3, k0, k1, k2 = _load6(S, ka, cb, k)
    e1, e2, e3, l0, l1, l2 = _load6(S, kb, cb, k)
    z1, z2, y1, y2 = _load_state(S, za, zb, cb, k)
    for n in range(n0, n1):
        row = w[n]
        x, z1, z2 = tick(V.load(row, cb, k), c1, c2, c3, k0, k1, k2, z1, z2)
        x, y1, y2 = tick(x, e1, e2, e3, l0, l1, l2, y1, y2)
        V.store(row, cb, k, x)
    _store_state(S, za, zb, cb, k, z1, z2, y1, y2)


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"}, inline="always")
def _svf2_tiles(w, S, ka, za, kb, zb, n0, n1, cb):
    # _svf2_tile on the full tiles at cb and cb + WIDTH, interleaved
    W = V.WIDTH
    cc = cb + W
    c1, c2, c3, k0, k1, k2 = _load6(S, ka, cb, W)
    e1, e2, e3, l0, l1, l2 = _load6(S, kb, cb, W)
    z1, z2, y1, y2 = _load_state(S, za, zb, cb, W)
    C1, C2, C3, K0, K1, K2 = _load6(S, ka, cc, W)
    E1, E2, E3, L0, L1, L2 = _load6(S, kb, cc, W)
    Z1, Z2, Y1, Y2 = _load_state(S, za, zb, cc, W)
    for n in range(n0, n1):
        row = w[n]
        x, z1, z2 = tick(V.load(row, cb, W), c1, c2, c3, k0, k1, k2, z1, z2)
        X, Z1, Z2 = tick(V.load(row, cc, W), C1, C2, C3, K0, K1, K2, Z1, Z2)
        x, y1, y2 = tick(x, e1, e2, e3, l0, l1, l2, y1, y2)
        X, Y1, Y2 = tick(X, E1, E2, E3, L0, L1, L2, Y1, Y2)
        V.store(row, cb, W, x)
        V.store(row, cc, W, X)
    _store_state(S, za, zb, cb, W, z1, z2, y1, y2)
    _store_state(S, za, zb, cc, W, Z1, Z2, Y1, Y2)


@njit(cache=True, nogil=True, error_model="numpy")
def copy_pass(w, dry, n0, n1):
    for n in range(n0, n1):
        for c in range(w.shape[1]):
            dry[n, c] = w[n, c]


SECTION_OUT, SECTION_IN, SECTION_MOVING = 0, 1, 2


@njit(cache=True, nogil=True, error_model="numpy")
def section_state(S, s_mix) -> int:
    """SECTION_IN when every channel has this section fully in (no dry copy or
    crossfade needed), SECTION_OUT when every channel has it fully out (its
    filters need not run: they restart from their last state, under the
    switch's crossfade, when switched in), else SECTION_MOVING."""
    all_in = True
    all_out = True
    for c in range(S.shape[1]):
        m, t = S[s_mix, c], S[s_mix + 1, c]
        all_in = all_in and m == 1.0 and t == 1.0
        all_out = all_out and m == 0.0 and t == 0.0
    if all_in:
        return SECTION_IN
    return SECTION_OUT if all_out else SECTION_MOVING


@njit(cache=True, nogil=True, error_model="numpy")
def gate_idle(S) -> bool:
    """True when every channel's gate is off and its gain has settled at unity."""
    for c in range(S.shape[1]):
        if S[L.C_G_FLOOR, c] != 1.0 or S[L.C_G_GAIN, c] != 1.0:
            return False
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def comp_idle(S) -> bool:
    """True when every channel's compressor is off with no reduction and no
    make-up left (its gain is exactly unity)."""
    for c in range(S.shape[1]):
        if S[L.C_C_ON, c] != 0.0 or S[L.C_C_GR, c] != 0.0 or S[L.C_C_MAKEUP, c] != 0.0:
            return False
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def crossfade_pass(w, dry, S, s_mix, n0, n1, a_switch):
    """``w = dry + m (w - dry)`` with ``m`` gliding to its target: a section switched in or out."""
    m, m_t = S[s_mix], S[s_mix + 1]
    for n in range(n0, n1):
        for c in range(w.shape[1]):
            mc = m[c] + a_switch * (m_t[c] - m[c])
            m[c] = mc
            w[n, c] = dry[n, c] + mc * (w[n, c] - dry[n, c])


@njit(cache=True, nogil=True, error_model="numpy")
def gate_pass(w, S, n0, n1, det):
    """Noise gate: held-peak detector, opens above threshold, closes below it minus
    hysteresis once the hold has run out; the gain glides in linear amplitude
    (attack when opening, release when closing) to unity or the range floor."""
    _gate(w, S[L.C_G_LVL], S[L.C_G_DHC], S[L.C_G_SINCE], S[L.C_G_OPEN], S[L.C_G_HOLDC],
          S[L.C_G_GAIN], S[L.C_G_THR_OPEN], S[L.C_G_THR_CLOSE], S[L.C_G_FLOOR], S[L.C_G_ATT],
          S[L.C_G_REL], S[L.C_G_HOLD_N], n0, n1, det[0], det[1], det[2])


# Tiles of eight channels in registers (see the filter sections): the
# detector, the open/close state machine and the gain glide of a tile run a
# whole segment without touching memory but for the signal.
@njit(cache=True, nogil=True, error_model="numpy")
def _gate(w, lvl, dhc, since, opened, holdc, gain, thr_open, thr_close, floor, att, rel, hold_n,
          n0, n1, hold_min, hold_max, det_rel):
    n_ch = w.shape[1]
    for cb in range(0, n_ch, V.WIDTH):
        k = n_ch - cb
        if k >= V.WIDTH:
            _gate_tile(w, lvl, dhc, since, opened, holdc, gain, thr_open, thr_close, floor, att, rel,
                       hold_n, n0, n1, hold_min, hold_max, det_rel, cb, V.WIDTH)
        else:
            _gate_tile(w, lvl, dhc, since, opened, holdc, gain, thr_open, thr_close, floor, att, rel,
                       hold_n, n0, n1, hold_min, hold_max, det_rel, cb, k)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _gate_tile(w, lvl, dhc, since, opened, holdc, gain, thr_open, thr_close, floor, att, rel, hold_n,
               n0, n1, hold_min, hold_max, det_rel, cb, k):
    t_lvl, t_dhc, t_since = V.load(lvl, cb, k), V.load(dhc, cb, k), V.load(since, cb, k)
    t_open, t_holdc, g = V.load(opened, cb, k), V.load(holdc, cb, k), V.load(gain, cb, k)
    t_thr_open, t_thr_close = V.load(thr_open, cb, k), V.load(thr_close, cb, k)
    t_floor, t_att, t_rel, t_hold_n = V.load(floor, cb, k), V.load(att, cb, k), V.load(rel, cb, k), \
        V.load(hold_n, cb, k)
    for n in range(n0, n1):
        row = w[n]
        v = V.load(row, cb, k)
        t_lvl, t_dhc, t_since = peak_hold(abs(v), t_lvl, t_dhc, t_since, hold_min, hold_max,
                                          L.DET_REFRESH, det_rel)
        # open/close state machine
        was_open = t_open != 0.0
        refresh = (was_open & (t_lvl >= t_thr_close)) | ((~was_open) & (t_lvl >= t_thr_open))
        now_open = refresh | (was_open & (t_holdc > 0.0))
        t_holdc = V.where(refresh, t_hold_n, max(t_holdc - 1.0, 0.0))
        t_open = V.where(now_open, 1.0, 0.0)
        target = V.where(now_open, 1.0, t_floor)
        g += V.where(target > g, t_att, t_rel) * (target - g)
        V.store(row, cb, k, v * g)
    V.store(lvl, cb, k, t_lvl)
    V.store(dhc, cb, k, t_dhc)
    V.store(since, cb, k, t_since)
    V.store(opened, cb, k, t_open)
    V.store(holdc, cb, k, t_holdc)
    V.store(gain, cb, k, g)


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def comp_pass(w, S, n0, n1, det):
    """Feed-forward compressor: held-peak detector, soft-knee static curve in dB
    (Giannoulis, Massberg & Reiss 2012), gain reduction smoothed in dB with
    attack and release time constants, make-up gain."""
    rows = (S[L.C_C_LVL], S[L.C_C_DHC], S[L.C_C_SINCE], S[L.C_C_GR], S[L.C_M_COMP_GR], S[L.C_C_ON],
            S[L.C_C_THR], S[L.C_C_SLOPE], S[L.C_C_KNEE], S[L.C_C_INV2W], S[L.C_C_ATT], S[L.C_C_REL],
            S[L.C_C_MAKEUP])
    V.on_tiles(_comp_load, _comp_step, _comp_store, (rows, det), w, w, n0, n1)


# Tiles of eight channels in registers, four side by side (``simd.on_tiles``):
# each sample is about seventy vector operations (detector, log2, curve,
# ballistics, exp2), so the pass is bound by arithmetic, and what the tiles
# save is the reload of every state and coefficient row on every sample
# (9.1 -> 7.3 us at 64 x 64). "contract" lets LLVM fuse each multiply-add of
# the polynomials into one rounding (FMA); it is the only fast-math flag, so
# NaN and Inf still behave as IEEE says.
@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _comp_load(rows_det, cb, k):
    rows, det = rows_det
    lvl, dhc, since, gr, m_gr, on, thr, slope, knee, inv2w, att, rel, makeup = rows
    # loop-invariant forms of the curve's constants: slope times on (an
    # off compressor wants no reduction), half the knee width
    state = (V.load(lvl, cb, k), V.load(dhc, cb, k), V.load(since, cb, k), V.load(gr, cb, k),
             V.load(m_gr, cb, k))
    coef = (V.load(thr, cb, k), V.load(slope, cb, k) * V.load(on, cb, k), 0.5 * V.load(knee, cb, k),
            V.load(inv2w, cb, k), V.load(att, cb, k), V.load(rel, cb, k), V.load(makeup, cb, k))
    return state, coef, det


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _comp_step(src, dst, cb, k, t):
    (lvl, dhc, since, gr, m_gr), coef, det = t
    thr, slope_on, half_knee, inv2w, att, rel, makeup = coef
    x = V.load(src, cb, k)
    lvl, dhc, since = peak_hold(abs(x), lvl, dhc, since, det[0], det[1], L.DET_REFRESH, det[2])
    # static curve: no reduction below T - W/2, quadratic in the knee,
    # (1 - 1/R)(x - T) above T + W/2 (slope = 1 - 1/R); over + W/2 > 0 is
    # exactly over > -W/2 (a sum of two doubles is zero only if they cancel)
    over = amp_to_db(lvl) - thr
    t = over + half_knee
    want = slope_on * V.where(over >= half_knee, over, t * t * inv2w)
    want = V.where(t > 0.0, want, 0.0)
    d = want - gr
    gr = V.where(abs(d) < 1e-6, want, gr + V.where(d > 0.0, att, rel) * d)
    V.store(dst, cb, k, x * db_to_amp(makeup - gr))
    return (lvl, dhc, since, gr, max(m_gr, gr)), coef, det


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _comp_store(rows_det, cb, k, t):
    V.store_rows(rows_det[0][:5], cb, k, t[0])


@njit(cache=True, nogil=True, error_model="numpy")
def mix_pass(w, S, send_st, bus_first, bus_nch, bus, scratch, amg, use_am, n0, n1, a_gain, off):
    """Fader, mute, pan and sends of every channel, summed into ``bus``.

    With ``use_am`` each channel is first scaled by its automix gain
    (``amg``). The main bus (rows 0, 1) takes the post-fader signal,
    constant-power panned and scaled by the main assign; aux bus ``b`` takes
    the pre-fader signal (``w``: before the automixer, as an iso split should
    be) or the post-fader signal times its send gain, panned if stereo.
    Per-channel work runs on tiles of channels into ``scratch``; the sums
    over channels then run in a fixed order (8 partial sums), so the result
    never depends on the block size. Row n of ``w`` goes to column ``off + n``
    of ``bus``.

    Parameters
    ----------
    send_st : float64[3, n_bus, n_ch]
        Smoothed send gain, its target, and 1 for a pre-fader send.
    scratch : tuple of 5 float64[frames, n_ch]
        Post-fader signal, main left and right parts, per-sample pan gains.
    """
    post, left, right, pan_l, pan_r = scratch
    n_bus = bus_first.shape[0]
    stereo_aux = False
    for b in range(1, n_bus):
        stereo_aux = stereo_aux or bus_nch[b] == 2
    # A tile of channels whose gains have settled takes them as constants: a
    # settled gain smoothed steps by exactly 0, so this changes no sample,
    # and one fader ridden costs one tile's smoothing, not all 64.
    n_ch = S.shape[1]
    for cb in range(0, n_ch, V.WIDTH):
        _fader_pan(w, amg, use_am, post, left, right, pan_l, pan_r, S, n0, n1, cb, min(n_ch - cb, V.WIDTH),
                   a_gain, _gains_moving(S, cb), n_bus > 1, stereo_aux)
    _sum_channels(left, bus[0], n0, n1, off)
    _sum_channels(right, bus[1], n0, n1, off)
    for b in range(1, n_bus):
        c0 = bus_first[b]
        stereo = bus_nch[b] == 2
        _send(w, post, pan_l, pan_r, left, right, send_st[0, b], send_st[1, b], send_st[2, b],
              stereo, n0, n1, a_gain)
        _sum_channels(left, bus[c0], n0, n1, off)
        if stereo:
            _sum_channels(right, bus[c0 + 1], n0, n1, off)
    m_n = S[L.C_M_N]
    for c in range(m_n.shape[0]):
        m_n[c] += n1 - n0


@njit(cache=True, nogil=True, error_model="numpy")
def _gains_moving(S, c0) -> bool:
    """Whether a fader, main assign or pan gain of the tile at ``c0`` glides."""
    for s in (L.C_GF, L.C_MAIN, L.C_PL, L.C_PR):
        for c in range(c0, min(c0 + V.WIDTH, S.shape[1])):
            if S[s, c] != S[s + 1, c]:
                return True
    return False


@njit(cache=True, nogil=True, error_model="numpy")
def _fader_pan(w, amg, use_am, post, left, right, pan_l, pan_r, S, n0, n1, cb, k, a_gain, glide,
               keep_post, keep_pan):
    """Fader, main assign and pan of the tile of ``k`` channels at ``cb``, with
    its gains and meters in registers for the segment; the gains glide to
    their targets only with ``glide``. The post-fader signal and pan gains are
    kept only when aux sends need them."""
    f, m, lg, rg = V.load(S[L.C_GF], cb, k), V.load(S[L.C_MAIN], cb, k), V.load(S[L.C_PL], cb, k), \
        V.load(S[L.C_PR], cb, k)
    f_t, m_t, l_t, r_t = V.load(S[L.C_GF_T], cb, k), V.load(S[L.C_MAIN_T], cb, k), \
        V.load(S[L.C_PL_T], cb, k), V.load(S[L.C_PR_T], cb, k)
    peak, sq = V.load(S[L.C_M_OUT_PEAK], cb, k), V.load(S[L.C_M_OUT_SQ], cb, k)
    for n in range(n0, n1):
        if glide:
            f = f + a_gain * (f_t - f)
            m = m + a_gain * (m_t - m)
            lg = lg + a_gain * (l_t - lg)
            rg = rg + a_gain * (r_t - rg)
        x = V.load(w[n], cb, k)
        if use_am:
            x = x * V.load(amg[n], cb, k)
        xf = x * f
        peak = max(peak, abs(xf))
        sq = sq + xf * xf
        if keep_post:
            V.store(post[n], cb, k, xf)
        if keep_pan:
            V.store(pan_l[n], cb, k, lg)
            V.store(pan_r[n], cb, k, rg)
        xm = xf * m
        V.store(left[n], cb, k, xm * lg)
        V.store(right[n], cb, k, xm * rg)
    if glide:
        V.store_rows((S[L.C_GF], S[L.C_MAIN], S[L.C_PL], S[L.C_PR]), cb, k, (f, m, lg, rg))
    V.store(S[L.C_M_OUT_PEAK], cb, k, peak)
    V.store(S[L.C_M_OUT_SQ], cb, k, sq)


@njit(cache=True, nogil=True, error_model="numpy")
def _send(w, post, pan_l, pan_r, left, right, s_cur, s_t, s_pre, stereo, n0, n1, a_gain):
    for n in range(n0, n1):
        for c in range(w.shape[1]):
            s = s_cur[c] + a_gain * (s_t[c] - s_cur[c])
            s_cur[c] = s
            v = (w[n, c] if s_pre[c] >= 0.5 else post[n, c]) * s
            left[n, c] = v * pan_l[n, c] if stereo else v
            right[n, c] = v * pan_r[n, c]


@njit(cache=True, nogil=True, error_model="numpy")
def _sum_channels(parts, dst, n0, n1, off):
    """``dst[off + n] += sum over channels of parts[n, :]``, always in the same order.

    Eight interleaved partial sums (lane j takes channels j, j+8, ...), which
    the compiler maps onto one vector register without reassociating anything.
    """
    n_ch = parts.shape[1]
    n8 = n_ch - n_ch % 8
    for n in range(n0, n1):
        row = parts[n]
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
        for c in range(0, n8, 8):
            s0 += row[c]
            s1 += row[c + 1]
            s2 += row[c + 2]
            s3 += row[c + 3]
            s4 += row[c + 4]
            s5 += row[c + 5]
            s6 += row[c + 6]
            s7 += row[c + 7]
        for c in range(n8, n_ch):
            s0 += row[c]
        dst[off + n] += ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


@njit(cache=True, nogil=True, error_model="numpy")
def reset_channel(S, c) -> None:
    """Clear one channel's filter memories and dynamics (keeps its parameters)."""
    for i in range(12):
        S[L.C_Z + i, c] = 0.0
    S[L.C_G_LVL, c] = 0.0
    S[L.C_G_DHC, c] = 0.0
    S[L.C_G_SINCE, c] = 0.0
    S[L.C_G_OPEN, c] = 0.0
    S[L.C_G_HOLDC, c] = 0.0
    S[L.C_G_GAIN, c] = S[L.C_G_FLOOR, c]
    S[L.C_C_LVL, c] = 0.0
    S[L.C_C_DHC, c] = 0.0
    S[L.C_C_SINCE, c] = 0.0
    S[L.C_C_GR, c] = 0.0
    for s in (L.C_GIN, L.C_HPF_MIX, L.C_EQ_MIX):
        S[s, c] = S[s + 1, c]


@njit(cache=True, nogil=True, error_model="numpy")
def guard_pass(w, S, n0, n1) -> None:
    """Reset any channel whose state went non-finite, silence its segment, count it.

    Inputs are sanitised, so this only fires on an overflow; the next
    segment of that channel is clean again.
    """
    for c in range(w.shape[1]):
        total = S[L.C_G_LVL, c] + S[L.C_G_GAIN, c] + S[L.C_C_LVL, c] + S[L.C_C_GR, c] + S[L.C_GIN, c]
        for i in range(12):
            total += S[L.C_Z + i, c]
        if not math.isfinite(total):
            reset_channel(S, c)
            S[L.C_M_NONFINITE, c] += 1.0
            for n in range(n0, n1):
                w[n, c] = 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def strip_passes(inp, ch_in, S, ring, w, dry, m, k, ctl, off, keep_det):
    """All strip stages for every channel over one segment of ``m`` samples
    (see module doc): inputs ``off .. off + m`` into rows ``0 .. m`` of ``w``.
    With ``keep_det`` the post-EQ, pre-compressor signal (the automixer's
    detection point) is left in ``dry``."""
    n0, n1 = 0, m
    a_gain, a_switch, xf_step = k[L.K_A_GAIN], k[L.K_A_SWITCH], k[L.K_XF_STEP]
    det = (k[L.K_DET_HOLD], k[L.K_DET_HOLD_MAX], k[L.K_DET_REL])
    ramp = False
    for c in range(w.shape[1]):
        ramp = ramp or S[L.C_FRAMP, c] != 0.0
    input_pass(inp, ch_in, S, w, n0, n1, a_gain, off)
    delay_pass(S, ring, w, n0, n1, xf_step, ctl)
    # sections switched out everywhere, or idle, are skipped (click-free: a
    # section only stops once its crossfade or gain has settled)
    hpf = section_state(S, L.C_HPF_MIX)
    if hpf == SECTION_MOVING:
        copy_pass(w, dry, n0, n1)
    if hpf != SECTION_OUT:
        filter_pair_pass(w, S, L.C_BQ, L.C_Z, n0, n1, ramp)
    if hpf == SECTION_MOVING:
        crossfade_pass(w, dry, S, L.C_HPF_MIX, n0, n1, a_switch)
    if not gate_idle(S):
        gate_pass(w, S, n0, n1, det)
    eq = section_state(S, L.C_EQ_MIX)
    if eq == SECTION_MOVING:
        copy_pass(w, dry, n0, n1)
    if eq != SECTION_OUT:
        filter_pair_pass(w, S, L.C_BQ + 2 * N_COEF, L.C_Z + 4, n0, n1, ramp)
        filter_pair_pass(w, S, L.C_BQ + 4 * N_COEF, L.C_Z + 8, n0, n1, ramp)
    if eq == SECTION_MOVING:
        crossfade_pass(w, dry, S, L.C_EQ_MIX, n0, n1, a_switch)
    if keep_det:
        copy_pass(w, dry, n0, n1)
    if not comp_idle(S):
        comp_pass(w, S, n0, n1, det)
    guard_pass(w, S, n0, n1)
    for c in range(w.shape[1]):
        S[L.C_M_GATE_GR, c] = max(S[L.C_M_GATE_GR, c], -amp_to_db(max(S[L.C_G_GAIN, c], 1e-9)))
