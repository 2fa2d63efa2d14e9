"""The plan: every array the block function touches, allocated once.

A plan is built off the audio thread from a scene. A different scene is a
different plan (different array shapes and values), never different code:
the compiled ``process_block`` is the same for all of them, and the live
adapters hand the same arrays to it through a table of pointers.
"""

from __future__ import annotations

import math

import numpy as np

from . import layout as L
from .arena import carve
from .kernels.smoothing import one_pole_coef
from .params import N_AUTOMIX_GROUPS, N_BUS_PARAMS, N_CH_PARAMS, N_SEND_PARAMS, ParamTable
from .scene import Scene

MAX_DELAY_MS = 500.0


class Plan:
    """Preallocated state for one scene at one sample rate and maximum block size.

    Attributes
    ----------
    par : float64[n_params]
        Parameter targets in user units; written only by the control side,
        which then bumps ``ctl[CTL_GEN]``.
    ctl : int64[N_CTL]
        Control words (clock, generation handshake, meter reset handshake).
    """

    def __init__(self, scene: Scene, max_frames: int | None = None) -> None:
        self.scene = scene
        self.table: ParamTable = scene.param_table()
        self.fs = float(scene.sample_rate)
        self.max_frames = int(max_frames or max(scene.block_size, 1024))
        n_ch = len(scene.channels)
        n_bus = len(scene.buses)
        self.n_inputs = max([c.input for c in scene.channels] + [1])
        n_outputs = sum(b.channels for b in scene.buses)
        self.n_outputs = n_outputs
        self.lookahead = int(round(L.LIMITER_LOOKAHEAD_MS * 1e-3 * self.fs))
        n_la = self.lookahead + 1  # the ring's oldest sample is lookahead samples late

        f8, f4, i8 = np.float64, np.float32, np.int64
        ring_len = int(math.ceil(MAX_DELAY_MS * 1e-3 * self.fs)) + 2
        seg = (L.CTRL, n_ch)
        # One mapping for the whole plan (see .arena): the control words and
        # per-channel state first, then the work buffers (segment, channels) the
        # strip's passes run across channels over segments of at most one control
        # tick, then the bus buffers, and the delay ring, the largest, last.
        (self.par, self.ctl, self.k, self.ch_in, self.bus_first, self.bus_nch, self.ch_st,
         self.send_st, self.am_st, self.am_key, self.bus_st, self.bus_zs,
         self.w, self.dry, self.amg, *scratch,
         self.bus_buf, self.la_x, self.la_rm, self.ring) = carve(
            [((self.table.size,), f8), ((L.N_CTL,), i8), ((L.N_K,), f8), ((n_ch,), i8),
             ((n_bus,), i8), ((n_bus,), i8),
             ((L.N_CH_STATE, n_ch), f8),          # structure of arrays: [slot, channel]
             ((3, n_bus, n_ch), f8),              # sends: [cur | target | pre, bus, channel]
             ((N_AUTOMIX_GROUPS, L.N_AM_STATE), f8),
             ((L.CTRL, N_AUTOMIX_GROUPS), f8),    # ducking keys per sample of a segment
             ((n_bus, L.N_BUS_STATE), f8), ((n_outputs, L.N_BUS_CHAN_STATE), f8)]
            + [(seg, f8)] * 8
            + [((n_outputs, self.max_frames), f4), ((n_outputs, n_la), f8), ((n_bus, 2, n_la), f8),
               ((ring_len, n_ch), f4)])              # ring rows share one write index
        self.scratch = tuple(scratch)  # post-fader, left, right, pan L, pan R (see mix_pass)
        self.par[:] = self.table.defaults()
        for path, value in scene.values.items():
            self.par[self.table.lookup(path)[0]] = value
        self.ch_in[:] = [c.input - 1 for c in scene.channels]
        self.bus_nch[:] = [b.channels for b in scene.buses]
        self.bus_first[1:] = np.cumsum(self.bus_nch)[:-1]
        self.la_rm[:] = 1.0
        self.bus_st[:, L.B_L_SUM] = n_la
        self.k[L.K_A_GAIN] = one_pole_coef(L.GAIN_SMOOTH_MS, self.fs)
        self.k[L.K_A_SWITCH] = one_pole_coef(L.SWITCH_SMOOTH_MS, self.fs)
        self.k[L.K_DET_HOLD] = math.floor(L.DET_HOLD_MIN_MS * 1e-3 * self.fs)
        self.k[L.K_DET_HOLD_MAX] = math.floor(L.DET_HOLD_MAX_MS * 1e-3 * self.fs)
        self.k[L.K_DET_REL] = one_pole_coef(L.DET_RELEASE_MS, self.fs)
        self.k[L.K_XF_STEP] = 1.0 / (L.DELAY_XFADE_MS * 1e-3 * self.fs)
        self.k[L.K_FS] = self.fs
        self.ctl[L.CTL_GEN_SEEN] = -1  # first block snaps every smoothed value to its target

    @property
    def latency(self) -> int:
        """Output latency in samples (the bus limiters' look-ahead)."""
        return self.lookahead

    def state_args(self) -> tuple:
        """Arguments of ``process_block`` after ``inp, out, nframes``."""
        return (self.par, self.ch_in, self.ch_st, self.ring, self.w, self.dry, self.amg,
                self.scratch, self.send_st, self.am_st, self.am_key,
                self.bus_first, self.bus_nch, self.bus_st, self.bus_zs, self.bus_buf,
                self.la_x, self.la_rm, self.k, self.ctl)

    def mark_changed(self, index: int | None = None, automix: bool = False) -> None:
        """Tell the audio side that targets changed (after writing ``par``).

        Parameters
        ----------
        index : int, optional
            The one parameter written; None marks everything. Only the
            channel or bus it belongs to recomputes its coefficients, so a
            control surface moving one fader every millisecond costs one
            channel's update, not all of them.
        automix : bool
            The parameter feeds the automixer or a ducker.
        """
        t = self.table
        if index is None:
            self.ch_st[L.C_DIRTY] += 1.0
            self.bus_st[:, L.B_DIRTY] += 1.0
            automix = True
        elif index < t.bus_base:
            self.ch_st[L.C_DIRTY, index // N_CH_PARAMS] += 1.0
        elif index < t.send_base:
            self.bus_st[(index - t.bus_base) // N_BUS_PARAMS, L.B_DIRTY] += 1.0
        elif index < t.automix_base:
            n_bus = self.bus_st.shape[0]
            self.ch_st[L.C_DIRTY, (index - t.send_base) // (n_bus * N_SEND_PARAMS)] += 1.0
        else:
            automix = True
        if automix:
            self.ctl[L.CTL_AM_DIRTY] += 1
        # written last: the audio side looks at the counts above once this moves
        self.ctl[L.CTL_GEN] += 1

    def request_meter_reset(self) -> None:
        self.ctl[L.CTL_METER_REQ] += 1
