"""The one compiled entry point: a whole block, every channel and bus.

``process_block`` is what ``Engine.process`` calls offline and what the JACK
and PortAudio ``@cfunc`` callbacks call live, with the same plan arrays.
It allocates nothing, takes no locks and raises nothing.
"""

from __future__ import annotations

from numba import njit

from .. import layout as L
from ..params import N_AUTOMIX_PARAMS, N_BUS_PARAMS, N_CH_PARAMS, N_SEND_PARAMS
from .automix import automix_needed, automix_pass, automix_tick
from .bus import bus_segment
from .controls import bus_tick, channel_tick, tick_coef
from .fpu import flush_denormals, restore_fpu
from .smoothing import db_to_gain
from .strip import mix_pass, strip_passes


_CH_SNAP = (L.C_GIN, L.C_HPF_MIX, L.C_EQ_MIX, L.C_GF, L.C_MAIN, L.C_PL, L.C_PR)
_BUS_SNAP = (L.B_GF, L.B_EQ_MIX, L.B_L_CEIL)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _snapped(cur, target):
    # Smoothed gains approach their targets geometrically; snapping on the
    # tick grid (not at block ends) keeps the output independent of block size.
    return target if abs(target - cur) <= L.SNAP else cur


@njit(cache=True, nogil=True, error_model="numpy")
def _snap(st, slots) -> None:
    for s in slots:
        st[s] = _snapped(st[s], st[s + 1])


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _changed(fresh, count, seen):
    # fresh -1 (new plan) and 0 pass through; 1 narrows to the changed part
    if fresh > 0:
        return 1 if count != seen else 0
    return fresh


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _snap_gate(g, is_open, floor):
    # the gate's gain snaps much closer than other gains: it multiplies
    # full-level signal, and a snap moves its output by the gap (-180 dB here)
    g_target = 1.0 if is_open != 0.0 else floor
    return g_target if abs(g - g_target) <= 1e-9 else g


@njit(cache=True, nogil=True, error_model="numpy")
def _snap_channels(ch_st, send_st, c0, c1) -> None:
    """The snaps of channels ``c0 .. c1`` after their control tick, slot by
    slot across channels: a slot's row is contiguous, a channel's column is
    a cache line per slot, so on the grid (every channel) this reads a few
    dozen lines instead of a thousand."""
    for s in _CH_SNAP:
        cur, tgt = ch_st[s], ch_st[s + 1]
        for c in range(c0, c1):
            cur[c] = _snapped(cur[c], tgt[c])
    g, is_open, floor = ch_st[L.C_G_GAIN], ch_st[L.C_G_OPEN], ch_st[L.C_G_FLOOR]
    for c in range(c0, c1):
        g[c] = _snap_gate(g[c], is_open[c], floor[c])
    for b in range(1, send_st.shape[1]):
        cur, tgt = send_st[0, b], send_st[1, b]
        for c in range(c0, c1):
            cur[c] = _snapped(cur[c], tgt[c])


@njit(cache=True, nogil=True, error_model="numpy")
def _tick(par, ch_st, send_st, bus_st, am_st, ring_len, fs, fresh, span, ctl):
    n_ch = ch_st.shape[1]
    n_bus = bus_st.shape[0]
    send_base = n_ch * N_CH_PARAMS + n_bus * N_BUS_PARAMS
    # A tick off the grid (a change arrived mid-tick) is for the channels and
    # buses that changed: the others' glides, ramps and snaps stay on the grid,
    # so they never depend on when somebody else's controls moved.
    on_grid = span == L.CTRL
    a_tick = tick_coef(fs)
    dirty, seen = ch_st[L.C_DIRTY], ch_st[L.C_DIRTY_SEEN]
    ramping, framp = ch_st[L.C_RAMPING], ch_st[L.C_FRAMP]
    for ch in range(n_ch):
        fc = _changed(fresh, dirty[ch], seen[ch])
        seen[ch] = dirty[ch]
        if fc == 0 and (not on_grid or ramping[ch] == 0.0 and framp[ch] == 0.0):
            continue  # nothing of this channel moves (its snaps run below, on the grid)
        channel_tick(par[ch * N_CH_PARAMS:(ch + 1) * N_CH_PARAMS], ch_st[:, ch], fs, ring_len, fc, span,
                     a_tick)
        if fc != 0:  # the channel's sends change with it
            for b in range(1, n_bus):
                sp = send_base + (ch * n_bus + b) * N_SEND_PARAMS
                send_st[1, b, ch] = db_to_gain(par[sp])
                send_st[2, b, ch] = par[sp + 1]
                if fc < 0:
                    send_st[0, b, ch] = send_st[1, b, ch]
            if not on_grid:
                _snap_channels(ch_st, send_st, ch, ch + 1)
    if on_grid:
        _snap_channels(ch_st, send_st, 0, n_ch)
    base = n_ch * N_CH_PARAMS
    for b in range(n_bus):
        fb = _changed(fresh, bus_st[b, L.B_DIRTY], bus_st[b, L.B_DIRTY_SEEN])
        bus_st[b, L.B_DIRTY_SEEN] = bus_st[b, L.B_DIRTY]
        if fb == 0 and not on_grid:
            continue
        bus_tick(par[base + b * N_BUS_PARAMS:base + (b + 1) * N_BUS_PARAMS], bus_st[b], fs, fb, span, a_tick)
        _snap(bus_st[b], _BUS_SNAP)
    base = send_base + n_ch * n_bus * N_SEND_PARAMS
    fam = _changed(fresh, ctl[L.CTL_AM_DIRTY], ctl[L.CTL_AM_SEEN])
    ctl[L.CTL_AM_SEEN] = ctl[L.CTL_AM_DIRTY]
    automix_tick(par, N_CH_PARAMS, par[base:base + am_st.shape[0] * N_AUTOMIX_PARAMS], ch_st,
                 am_st, fs, fam)
    if fam != 0:
        for b in range(n_bus):  # a ducked bus needs its group's key
            g = int(bus_st[b, L.B_DK_GRP])
            if g >= 0:
                am_st[g, L.AM_KEY] = 1.0


@njit(cache=True, nogil=True, error_model="numpy")
def _reset_meters(ch_st, bus_st) -> None:
    for s in range(L.C_M_IN_PEAK, L.C_M_NONFINITE + 1):
        for ch in range(ch_st.shape[1]):
            ch_st[s, ch] = 0.0
    for b in range(bus_st.shape[0]):
        for s in range(L.B_M_PEAK, L.B_M_NONFINITE + 1):
            bus_st[b, s] = 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def process_block(inp, out, nframes, par, ch_in, ch_st, ring, w, dry, amg, scratch, send_st, am_st, am_key,
                  bus_first, bus_nch, bus_st, bus_zs, bus_buf, la_x, la_rm, k, ctl):
    """Process ``nframes`` samples of every channel and bus.

    Parameters
    ----------
    inp : float32[:, :]
        Inputs ``(n_inputs, >= nframes)``; channel ``ch`` reads row ``ch_in[ch]``.
    out : float32[:, :]
        Bus outputs ``(n_bus_channels, >= nframes)``: main L, main R, then aux.
    nframes : int
        Frames in this block, at most ``bus_buf.shape[1]``.
    par : float64[:]
        Parameter targets (written by the control side only).
    Remaining arguments are the plan's preallocated state (see ``plan.Plan``).
    """
    fpu = flush_denormals()
    if ctl[L.CTL_METER_REQ] != ctl[L.CTL_METER_ACK]:
        _reset_meters(ch_st, bus_st)
        ctl[L.CTL_METER_ACK] = ctl[L.CTL_METER_REQ]
    fresh = 0
    gen = ctl[L.CTL_GEN]
    if ctl[L.CTL_GEN_SEEN] < 0:
        fresh = -1
    elif gen != ctl[L.CTL_GEN_SEEN]:
        fresh = 1
    ctl[L.CTL_GEN_SEEN] = gen
    fs = k[L.K_FS]
    ring_len = ring.shape[0]
    n_bus = bus_st.shape[0]
    pos = 0
    while pos < nframes:
        phase = ctl[L.CTL_CLOCK] % L.CTRL
        if phase == 0 or fresh != 0:
            _tick(par, ch_st, send_st, bus_st, am_st, ring_len, fs, fresh, L.CTRL - phase, ctl)
            fresh = 0
        end = min(nframes, pos + L.CTRL - phase)
        for c in range(bus_buf.shape[0]):
            for n in range(pos, end):
                bus_buf[c, n] = 0.0
        automix = automix_needed(ch_st, bus_st)
        strip_passes(inp, ch_in, ch_st, ring, w, dry, end - pos, k, ctl, pos, automix)
        if automix:  # gains from the post-EQ copy in dry, applied in the mix
            automix_pass(dry, ch_st, am_st, amg, scratch[1], am_key, 0, end - pos, ctl[L.CTL_CLOCK])
        mix_pass(w, ch_st, send_st, bus_first, bus_nch, bus_buf, scratch, amg, automix, 0,
                 end - pos, k[L.K_A_GAIN], pos)
        for b in range(n_bus):
            bus_segment(bus_buf, bus_first[b], bus_nch[b], bus_st[b], bus_zs, la_x,
                        la_rm[b, 0], la_rm[b, 1], out, pos, end, k, am_key)
        ctl[L.CTL_CLOCK] += end - pos
        pos = end
    restore_fpu(fpu)
