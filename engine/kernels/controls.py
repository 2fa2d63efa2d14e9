"""Control-rate work: turn parameter targets into smoothed values and coefficients.

Runs on the fixed grid of ``layout.CTRL`` samples of the sample clock (the
"slow" rate of Faust's rate separation). When the control generation has
changed, every derived constant is recomputed from the targets; while a
filter parameter is still gliding, its section is redesigned each tick and
the coefficients move linearly per sample toward that design.
Frequencies and Q glide in the log domain, gains in dB.
"""

from __future__ import annotations

import math

from numba import njit

from .. import layout as L
from ..params import BUS_SLOT, CH_SLOT, N_EQ_BANDS
from . import filters
from .smoothing import approach, db_to_gain, one_pole_coef

# Parameter columns (ints become compile-time constants).
P_TRIM = CH_SLOT["trim_db"]
P_POL = CH_SLOT["polarity_invert"]
P_DELAY = CH_SLOT["delay_ms"]
P_HPF_ON = CH_SLOT["hpf.on"]
P_HPF_F = CH_SLOT["hpf.freq_hz"]
P_HPF_SLOPE = CH_SLOT["hpf.slope_db_oct"]
P_GATE_ON = CH_SLOT["gate.on"]
P_GATE_THR = CH_SLOT["gate.threshold_db"]
P_GATE_RANGE = CH_SLOT["gate.range_db"]
P_GATE_ATT = CH_SLOT["gate.attack_ms"]
P_GATE_HOLD = CH_SLOT["gate.hold_ms"]
P_GATE_REL = CH_SLOT["gate.release_ms"]
P_GATE_HYST = CH_SLOT["gate.hysteresis_db"]
P_EQ_ON = CH_SLOT["eq.on"]
P_COMP_ON = CH_SLOT["comp.on"]
P_MAIN = CH_SLOT["main_on"]
P_FADER = CH_SLOT["fader_db"]
P_MUTE = CH_SLOT["mute"]
P_PAN = CH_SLOT["pan"]
PB_EQ_ON = BUS_SLOT["eq.on"]
PB_COMP_ON = BUS_SLOT["comp.on"]
PB_LIM_ON = BUS_SLOT["limiter.on"]
PB_LIM_CEIL = BUS_SLOT["limiter.ceiling_db"]
PB_LIM_REL = BUS_SLOT["limiter.release_ms"]
PB_FADER = BUS_SLOT["fader_db"]
PB_MUTE = BUS_SLOT["mute"]
PB_DUCK = BUS_SLOT["duck.group"]  # then depth, threshold, attack, hold, release
# EQ band k: type, freq, gain, q at EQ_ON + 1 + 4k (+0..3); comp: on, threshold,
# ratio, knee, attack, release, makeup from COMP_ON on (same for channels and buses).
assert CH_SLOT["eq.1.type"] == P_EQ_ON + 1 and BUS_SLOT["eq.1.type"] == PB_EQ_ON + 1
assert CH_SLOT["comp.makeup_db"] == P_COMP_ON + 6 and BUS_SLOT["comp.makeup_db"] == PB_COMP_ON + 6
assert BUS_SLOT["duck.release_ms"] == PB_DUCK + 5

#: Smoothing of filter parameters (per tick): 20 ms, the declared smoothing_ms.
FILTER_SMOOTH_MS = 20.0
#: Bits of ``C_RAMPING`` / ``B_RAMPING``: what still glides between changes
#: (make-up gain or a delay crossfade; the high-pass; EQ band k at bit 2 + k).
GLIDE_OTHER, GLIDE_HPF, GLIDE_EQ_SHIFT = 1, 2, 2


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def tick_coef(fs: float) -> float:
    """Per-tick one-pole coefficient of the filter parameters' glides
    (``FILTER_SMOOTH_MS`` at one step per ``CTRL`` samples); worked out once
    per tick for every channel and bus."""
    return one_pole_coef(FILTER_SMOOTH_MS, fs, float(L.CTRL))


@njit(cache=True, nogil=True, error_model="numpy")
def coef_begin(st, cur, tgt, dlt, moving) -> None:
    """Land the previous tick's coefficient ramps exactly on their targets.

    ``moving`` has bit ``s`` set for each section whose ramp ran; the others
    already sit on their targets with zero increments, so a glide of one EQ
    band touches one section's coefficients, not all of them (their rows are
    a cache line apart per channel)."""
    s = 0
    while moving != 0:
        if moving & 1:
            for i in range(s * filters.N_COEF, (s + 1) * filters.N_COEF):
                st[cur + i] = st[tgt + i]
                st[dlt + i] = 0.0
        moving >>= 1
        s += 1


@njit(cache=True, nogil=True, error_model="numpy")
def coef_ramp(st, cur, tgt, dlt, designed, span, fresh) -> int:
    """Per-sample increments taking the coefficients of the sections just
    redesigned (bits of ``designed``) to their new design over ``span``
    samples (linear interpolation between control ticks, so a gliding EQ has
    no zipper steps). Returns the bits of the sections that move."""
    moving = 0
    s = 0
    while designed != 0:
        if designed & 1:
            for i in range(s * filters.N_COEF, (s + 1) * filters.N_COEF):
                if fresh < 0:
                    st[cur + i] = st[tgt + i]
                d = (st[tgt + i] - st[cur + i]) / span
                st[dlt + i] = d
                if d != 0.0:
                    moving |= 1 << s
        designed >>= 1
        s += 1
    return moving


@njit(cache=True, nogil=True, error_model="numpy")
def eq_tick(p, p_on, st, s_f, s_g, s_q, s_ft, s_qt, s_w, s_ql, s_bq, fs, a_tick, fresh, gliding):
    """Advance the 4 EQ bands' glides; redesign moving bands.

    Frequency and Q glide in the log domain; their targets' logs are kept in
    ``s_ft``, ``s_qt`` from the tick that saw them change (``fresh != 0``).
    Between changes only the bands with a bit in ``gliding`` are visited: a
    settled band would step by exactly 0. The prewarped frequency and linear
    Q of the last design are kept in ``s_w``, ``s_ql`` and recomputed only
    when their glide moved (the same numbers, so the same coefficients).

    Returns
    -------
    (int, int)
        Bit ``k`` set for each band still gliding; for each band redesigned.
    """
    ramping = 0
    designed = 0
    for k in range(N_EQ_BANDS):
        if fresh == 0 and not gliding >> k & 1:
            continue
        pk = p_on + 1 + 4 * k
        if fresh != 0:
            st[s_ft + k] = math.log(p[pk + 1])
            st[s_qt + k] = math.log(p[pk + 3])
        f_t = st[s_ft + k]
        g_t = p[pk + 2]
        q_t = st[s_qt + k]
        if fresh < 0:  # snap (plan start)
            f, g, q = f_t, g_t, q_t
        else:
            f = approach(st[s_f + k], f_t, a_tick)
            g = approach(st[s_g + k], g_t, a_tick)
            q = approach(st[s_q + k], q_t, a_tick)
        moving = f != st[s_f + k] or g != st[s_g + k] or q != st[s_q + k]
        if moving or fresh != 0:
            if f != st[s_f + k] or fresh < 0:
                st[s_w + k] = filters.prewarp(math.exp(f), fs)
            if q != st[s_q + k] or fresh < 0:
                st[s_ql + k] = math.exp(q)
            filters.design_warped(int(p[pk]), st[s_w + k], g, st[s_ql + k], st, s_bq + filters.N_COEF * k)
            designed |= 1 << k
        st[s_f + k] = f
        st[s_g + k] = g
        st[s_q + k] = q
        if f != f_t or g != g_t or q != q_t:
            ramping |= 1 << k
    return ramping, designed


@njit(cache=True, nogil=True, error_model="numpy")
def comp_derive(p, p_on, st, s_on, fs):
    """Latch the compressor settings into state (ballistics as one-pole coefficients)."""
    st[s_on] = p[p_on]
    st[s_on + 1] = p[p_on + 1]  # threshold dB
    st[s_on + 2] = p[p_on + 2]  # ratio
    st[s_on + 3] = p[p_on + 3]  # knee dB
    st[s_on + 4] = one_pole_coef(p[p_on + 4], fs)
    st[s_on + 5] = one_pole_coef(p[p_on + 5], fs)


@njit(cache=True, nogil=True, error_model="numpy")
def channel_tick(p, st, fs, max_delay, fresh, span, a_tick):
    """Control tick of one channel that changed or still glides (``process._tick``
    reads those flags across channels and skips the others).

    Parameters
    ----------
    p : float64[:]
        The channel's parameter targets (``params.CHANNEL_SPECS`` order).
    st : float64[:]
        The channel's state column ``ch_state[:, ch]`` (``layout`` ``C_*`` slots).
    fs : float
        Sample rate in Hz.
    max_delay : int
        Length of the channel's delay ring in samples.
    fresh : int
        -1 at plan start (snap everything), 1 when targets changed, 0 otherwise.
    span : int
        Samples until the next control tick (coefficient ramps end there).
    a_tick : float
        Per-tick coefficient of the filter parameters' glides (:func:`tick_coef`).
    """
    gliding = int(st[L.C_RAMPING])
    coef_begin(st, L.C_BQ, L.C_BQT, L.C_BQD, int(st[L.C_FRAMP]))
    if fresh != 0:
        # gains: trim * polarity; fader * mute; main assign; constant-power pan
        pol = -1.0 if p[P_POL] >= 0.5 else 1.0
        st[L.C_GIN_T] = pol * db_to_gain(p[P_TRIM])
        st[L.C_GF_T] = 0.0 if p[P_MUTE] >= 0.5 else db_to_gain(p[P_FADER])
        st[L.C_MAIN_T] = 1.0 if p[P_MAIN] >= 0.5 else 0.0
        theta = (p[P_PAN] + 1.0) * math.pi * 0.25
        st[L.C_PL_T] = math.cos(theta)
        st[L.C_PR_T] = math.sin(theta)
        st[L.C_HPF_MIX_T] = 1.0 if p[P_HPF_ON] >= 0.5 else 0.0
        st[L.C_EQ_MIX_T] = 1.0 if p[P_EQ_ON] >= 0.5 else 0.0
        # gate: thresholds as linear peak levels, gain floor, ballistics
        if p[P_GATE_ON] >= 0.5:
            st[L.C_G_THR_OPEN] = 10.0 ** (p[P_GATE_THR] * 0.05)
            st[L.C_G_THR_CLOSE] = 10.0 ** ((p[P_GATE_THR] - p[P_GATE_HYST]) * 0.05)
            st[L.C_G_FLOOR] = 10.0 ** (-p[P_GATE_RANGE] * 0.05)
        else:  # open for good: the gain glides to unity
            st[L.C_G_THR_OPEN] = 0.0
            st[L.C_G_THR_CLOSE] = 0.0
            st[L.C_G_FLOOR] = 1.0
        st[L.C_G_ATT] = one_pole_coef(p[P_GATE_ATT], fs)
        st[L.C_G_REL] = one_pole_coef(p[P_GATE_REL], fs)
        st[L.C_G_HOLD_N] = math.floor(p[P_GATE_HOLD] * 0.001 * fs + 0.5)
        comp_derive(p, P_COMP_ON, st, L.C_C_ON, fs)
        st[L.C_C_SLOPE] = 1.0 - 1.0 / st[L.C_C_RATIO]
        st[L.C_C_INV2W] = 0.5 / st[L.C_C_KNEE] if st[L.C_C_KNEE] > 0.0 else 0.0
        if fresh < 0:
            for s in (L.C_GIN, L.C_GF, L.C_MAIN, L.C_PL, L.C_PR, L.C_HPF_MIX, L.C_EQ_MIX):
                st[s] = st[s + 1]
            st[L.C_G_GAIN] = st[L.C_G_FLOOR] if p[P_GATE_ON] >= 0.5 else 1.0
    # delay in whole samples; a change starts a crossfade (see strip). One that
    # arrives while a crossfade runs waits for it on the ticks after (a knob
    # turned over OSC sends values faster than a crossfade lasts).
    dly_t = min(math.floor(p[P_DELAY] * 0.001 * fs + 0.5), max_delay - 1.0)
    if fresh < 0:
        st[L.C_DLY] = dly_t
        st[L.C_DLY_OLD] = dly_t
        st[L.C_DLY_XF] = 1.0
    elif dly_t != st[L.C_DLY] and st[L.C_DLY_XF] >= 1.0:
        st[L.C_DLY_OLD] = st[L.C_DLY]
        st[L.C_DLY] = dly_t
        st[L.C_DLY_XF] = 0.0
    # comp makeup glides per tick (in dB)
    mk_t = p[P_COMP_ON + 6] if p[P_COMP_ON] >= 0.5 else 0.0
    mk = mk_t if fresh < 0 else approach(st[L.C_C_MAKEUP], mk_t, a_tick)
    st[L.C_C_MAKEUP] = mk
    # a crossfade running or a delay change waiting keeps the channel ticking
    ramping = GLIDE_OTHER if mk != mk_t or st[L.C_DLY_XF] < 1.0 or st[L.C_DLY] != dly_t else 0
    # high-pass: 12 dB/oct one Butterworth section, 24 dB/oct two
    designed = 0
    if fresh != 0 or gliding & GLIDE_HPF:
        if fresh != 0:
            st[L.C_HPF_FT] = math.log(p[P_HPF_F])
        f_t = st[L.C_HPF_FT]
        f = f_t if fresh < 0 else approach(st[L.C_HPF_F], f_t, a_tick)
        if f != st[L.C_HPF_F] or fresh != 0:
            designed = 0b11
            if p[P_HPF_SLOPE] >= 0.5:
                filters.design(filters.HIGH_PASS, math.exp(f), 0.0, filters.BUTTER4_Q1, fs, st, L.C_BQT)
                filters.design(filters.HIGH_PASS, math.exp(f), 0.0, filters.BUTTER4_Q2, fs, st,
                               L.C_BQT + filters.N_COEF)
            else:
                filters.design(filters.HIGH_PASS, math.exp(f), 0.0, filters.BUTTER2_Q, fs, st, L.C_BQT)
                filters.identity(st, L.C_BQT + filters.N_COEF)
        st[L.C_HPF_F] = f
        if f != f_t:
            ramping |= GLIDE_HPF
    eq_ramping, eq_designed = eq_tick(p, P_EQ_ON, st, L.C_EQ_F, L.C_EQ_G, L.C_EQ_Q, L.C_EQ_FT,
                                      L.C_EQ_QT, L.C_EQ_W, L.C_EQ_QL, L.C_BQT + 2 * filters.N_COEF, fs,
                                      a_tick, fresh, gliding >> GLIDE_EQ_SHIFT)
    st[L.C_RAMPING] = float(ramping | eq_ramping << GLIDE_EQ_SHIFT)
    # sections 0-1 the high-pass, 2-5 the EQ bands
    st[L.C_FRAMP] = float(coef_ramp(st, L.C_BQ, L.C_BQT, L.C_BQD, designed | eq_designed << 2, span, fresh))


@njit(cache=True, nogil=True, error_model="numpy")
def bus_tick(p, st, fs, fresh, span, a_tick):
    """Control tick of one bus (EQ glides, compressor, limiter, fader)."""
    if fresh == 0 and st[L.B_RAMPING] == 0.0 and st[L.B_FRAMP] == 0.0:
        return
    coef_begin(st, L.B_BQ, L.B_BQT, L.B_BQD, int(st[L.B_FRAMP]))
    if fresh != 0:
        st[L.B_GF_T] = 0.0 if p[PB_MUTE] >= 0.5 else db_to_gain(p[PB_FADER])
        st[L.B_EQ_MIX_T] = 1.0 if p[PB_EQ_ON] >= 0.5 else 0.0
        comp_derive(p, PB_COMP_ON, st, L.B_C_ON, fs)
        st[L.B_L_ON] = p[PB_LIM_ON]
        st[L.B_L_CEIL_T] = 10.0 ** (p[PB_LIM_CEIL] * 0.05)
        st[L.B_L_REL] = one_pole_coef(p[PB_LIM_REL], fs)
        st[L.B_DK_GRP] = p[PB_DUCK] - 1.0
        st[L.B_DK_DEPTH] = 10.0 ** (p[PB_DUCK + 1] * 0.05)
        st[L.B_DK_THR] = 10.0 ** (p[PB_DUCK + 2] * 0.1)
        st[L.B_DK_ATT] = one_pole_coef(p[PB_DUCK + 3], fs)
        st[L.B_DK_HOLD_N] = p[PB_DUCK + 4] * 1e-3 * fs
        st[L.B_DK_REL] = one_pole_coef(p[PB_DUCK + 5], fs)
        if fresh < 0:
            st[L.B_GF] = st[L.B_GF_T]
            st[L.B_EQ_MIX] = st[L.B_EQ_MIX_T]
            st[L.B_L_CEIL] = st[L.B_L_CEIL_T]
            st[L.B_L_MR] = 1.0
            st[L.B_DK_G] = 1.0
            st[L.B_DK_HOLDC] = 0.0
            st[L.B_C_GAIN] = 1.0
            st[L.B_C_LVL_SEEN] = -1.0
    mk_t = p[PB_COMP_ON + 6] if p[PB_COMP_ON] >= 0.5 else 0.0
    mk = mk_t if fresh < 0 else approach(st[L.B_C_MAKEUP], mk_t, a_tick)
    st[L.B_C_MAKEUP] = mk
    ramping = GLIDE_OTHER if mk != mk_t else 0
    eq_ramping, designed = eq_tick(p, PB_EQ_ON, st, L.B_EQ_F, L.B_EQ_G, L.B_EQ_Q, L.B_EQ_FT, L.B_EQ_QT,
                                   L.B_EQ_W, L.B_EQ_QL, L.B_BQT, fs, a_tick, fresh,
                                   int(st[L.B_RAMPING]) >> GLIDE_EQ_SHIFT)
    st[L.B_RAMPING] = float(ramping | eq_ramping << GLIDE_EQ_SHIFT)
    st[L.B_FRAMP] = float(coef_ramp(st, L.B_BQ, L.B_BQT, L.B_BQD, designed, span, fresh))
