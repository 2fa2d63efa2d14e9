"""The real-time cycle: plans reached through pointer tables, swapped click-free.

The live adapters' ``@cfunc`` callbacks (JACK, PortAudio) know nothing of
Python objects. Everything they touch is a preallocated numpy array whose
address sits in an int64 *root* array (layout ``R_*`` below); the callback
gets the root's address as its ``void *`` user argument.

A *plan table* (uint64) describes one plan: for each argument of
``process_block`` its address and shape, then the plan's own input and
output staging buffers and its mapping of rows to physical ports. The
callback copies port buffers into ``phys_in``, runs the current plan (and,
during a scene change, the next one beside it) and leaves the mix in
``phys_out`` for the adapter to copy out.

A scene change never waits in the audio thread: the control side publishes
the next table's address in ``root[R_NEXT]``; the callback runs both plans
for a warm-up (the new plan's delay lines, filters and detectors fill on
the live input while the old one is still heard), then crossfades with
complementary gains that sum to one (both plans see the same input, so
their outputs are correlated and such a fade keeps the level), adopts the new plan and counts the swap in
``root[R_SWAPS]``. The control side frees the old plan only after that.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import carray, njit, types
from numba.extending import intrinsic

from .kernels.process import process_block

# --- root: int64 words -------------------------------------------------------
R_CUR = 0            # address of the playing plan's table, 0 = silence
R_NEXT = 1           # address of the table to swap in (control writes, audio clears)
R_SWAP_POS = 2       # samples into the current swap (audio)
R_WARM = 3           # warm-up samples before the crossfade (control, per swap)
R_XFADE = 4          # crossfade samples (control)
R_SWAPS = 5          # swaps completed (audio)
R_CYCLES = 6         # callbacks served (audio)
R_FRAMES = 7         # frames processed (audio)
R_PHYS_IN = 8        # address of phys_in float32[MAX_PORTS, phys_frames]
R_PHYS_OUT = 9       # address of phys_out float32[MAX_PORTS, phys_frames]
R_PHYS_FRAMES = 10   # frames phys buffers hold
R_N_IN = 11          # physical inputs in use
R_N_OUT = 12         # physical outputs in use
R_IN_PORTS = 13      # address of uint64[MAX_PORTS] port handles (JACK)
R_OUT_PORTS = 14     # address of uint64[MAX_PORTS]
R_CLIENT = 15        # jack_client_t* (JACK) for the frame clock
R_FIRST_FRAME = 16   # JACK frame time of the first cycle (valid once R_STARTED)
R_STARTED = 17       # 1 after the first cycle
R_OVERSIZE = 18      # callbacks larger than phys_frames (answered with silence)
R_TIMES = 19         # address of int64[TIMES_LEN] callback durations, ns
R_TIMES_IDX = 20     # durations written so far (audio)
R_TS = 21            # address of int64[4] timespec scratch
R_FADE = 22          # address of float64[4] master fade: gain, target, step per sample
R_STARTS = 23        # address of int64[TIMES_LEN, 3]: each callback's start (ns), cycle frame, CPU ns
R_DEV_IN = 24        # interleaved device input channels (PortAudio)
R_DEV_OUT = 25       # interleaved device output channels (PortAudio)
R_PA_XRUNS = 26      # PortAudio callbacks flagged with an over- or underflow (audio)
R_FIRST_AT = 27      # engine frames processed before that first cycle (audio)
R_CPU_TIMES = 28     # 1: also time callbacks on the thread's CPU clock (control; diagnostics)
N_ROOT = 32

F_GAIN = 0
F_TARGET = 1
F_STEP = 2

MAX_PORTS = 256
TIMES_LEN = 1 << 16

# --- plan table: 4 uint64 words per array (address, dim0, dim1, dim2) --------
T_PAR, T_CH_IN, T_CH_ST, T_RING, T_W, T_DRY, T_AMG = range(7)
T_SCRATCH = 7                 # five arrays
T_SEND_ST = 12
T_AM_ST, T_AM_KEY, T_BUS_FIRST, T_BUS_NCH, T_BUS_ST, T_BUS_ZS, T_BUS_BUF = range(13, 20)
T_LA_X, T_LA_RM, T_K, T_CTL = range(20, 24)
T_INBUF, T_OUTBUF, T_IN_SLOT, T_OUT_SLOT = range(24, 28)
N_TABLE_ARRAYS = 28
#: dtype and rank of each table entry, checked when a table is built
TABLE_TYPES = (
    [("f8", 1), ("i8", 1), ("f8", 2), ("f4", 2), ("f8", 2), ("f8", 2), ("f8", 2)]
    + [("f8", 2)] * 5
    + [("f8", 3), ("f8", 2), ("f8", 2), ("i8", 1), ("i8", 1), ("f8", 2), ("f8", 2), ("f4", 2),
       ("f8", 2), ("f8", 3), ("f8", 1), ("i8", 1), ("f4", 2), ("f4", 2), ("i8", 1), ("i8", 1)]
)


@intrinsic
def address_to_voidptr(typingctx, addr):
    """Reinterpret an integer address as ``void *`` (LLVM ``inttoptr``)."""
    if not isinstance(addr, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], ir.IntType(8).as_pointer())

    return types.voidptr(addr), codegen


@intrinsic
def voidptr_to_address(typingctx, ptr):
    """The integer address of a ``void *`` (LLVM ``ptrtoint``), e.g. to test for NULL."""
    if ptr != types.voidptr:
        return None

    def codegen(context, builder, signature, args):
        return builder.ptrtoint(args[0], ir.IntType(64))

    return types.uint64(ptr), codegen


@njit(inline="always")
def _f8_1(tab, i):
    return carray(address_to_voidptr(tab[4 * i]), (tab[4 * i + 1],), np.float64)


@njit(inline="always")
def _i8_1(tab, i):
    return carray(address_to_voidptr(tab[4 * i]), (tab[4 * i + 1],), np.int64)


@njit(inline="always")
def _f8_2(tab, i):
    return carray(address_to_voidptr(tab[4 * i]), (tab[4 * i + 1], tab[4 * i + 2]), np.float64)


@njit(inline="always")
def _f4_2(tab, i):
    return carray(address_to_voidptr(tab[4 * i]), (tab[4 * i + 1], tab[4 * i + 2]), np.float32)


@njit(inline="always")
def _f8_3(tab, i):
    return carray(address_to_voidptr(tab[4 * i]), (tab[4 * i + 1], tab[4 * i + 2], tab[4 * i + 3]),
                  np.float64)


@njit(inline="always")
def phys_views(root, nframes):
    """The physical staging buffers as packed ``(ports, nframes)`` float32 views.

    Rows are ``nframes`` apart rather than a full ``R_PHYS_FRAMES``: rows a
    power-of-two 32 KiB apart all land in the same few cache sets, and the
    64-channel callback measured 20 us slower with them (134 vs 113 us).
    The buffers only stage one cycle, so their row stride may change with it.
    """
    phys_in = carray(address_to_voidptr(root[R_PHYS_IN]), (root[R_N_IN], nframes), np.float32)
    phys_out = carray(address_to_voidptr(root[R_PHYS_OUT]), (root[R_N_OUT], nframes), np.float32)
    return phys_in, phys_out


@njit(cache=True, nogil=True, error_model="numpy")
def run_table(addr, phys_in, phys_out, nframes, g0, dg):
    """Run one plan on ``phys_in`` and add its outputs to ``phys_out``.

    Output row r goes to physical output ``out_slot[r]`` scaled by the
    fade gain ``smoothstep(clip(g0 + dg * n, 0, 1))`` at frame n of the cycle.
    """
    tab = carray(address_to_voidptr(addr), (4 * N_TABLE_ARRAYS,), np.uint64)
    # staging rows packed at this cycle's chunk, for the same reason as phys_views
    chunk = min(np.int64(tab[4 * T_INBUF + 2]), nframes)
    inbuf = carray(address_to_voidptr(tab[4 * T_INBUF]), (tab[4 * T_INBUF + 1], chunk), np.float32)
    outbuf = carray(address_to_voidptr(tab[4 * T_OUTBUF]), (tab[4 * T_OUTBUF + 1], chunk),
                    np.float32)
    in_slot = _i8_1(tab, T_IN_SLOT)
    out_slot = _i8_1(tab, T_OUT_SLOT)
    scratch = (_f8_2(tab, T_SCRATCH), _f8_2(tab, T_SCRATCH + 1), _f8_2(tab, T_SCRATCH + 2),
               _f8_2(tab, T_SCRATCH + 3), _f8_2(tab, T_SCRATCH + 4))
    par = _f8_1(tab, T_PAR)
    ch_in = _i8_1(tab, T_CH_IN)
    ch_st = _f8_2(tab, T_CH_ST)
    ring = _f4_2(tab, T_RING)
    w = _f8_2(tab, T_W)
    dry = _f8_2(tab, T_DRY)
    amg = _f8_2(tab, T_AMG)
    send_st = _f8_3(tab, T_SEND_ST)
    am_st = _f8_2(tab, T_AM_ST)
    am_key = _f8_2(tab, T_AM_KEY)
    bus_first = _i8_1(tab, T_BUS_FIRST)
    bus_nch = _i8_1(tab, T_BUS_NCH)
    bus_st = _f8_2(tab, T_BUS_ST)
    bus_zs = _f8_2(tab, T_BUS_ZS)
    bus_buf = _f4_2(tab, T_BUS_BUF)
    la_x = _f8_2(tab, T_LA_X)
    la_rm = _f8_3(tab, T_LA_RM)
    k = _f8_1(tab, T_K)
    ctl = _i8_1(tab, T_CTL)

    n_phys_in = phys_in.shape[0]
    n_phys_out = phys_out.shape[0]
    start = 0
    while start < nframes:
        n = min(chunk, nframes - start)
        for r in range(inbuf.shape[0]):
            s = in_slot[r]
            if 0 <= s < n_phys_in:
                for i in range(n):
                    inbuf[r, i] = phys_in[s, start + i]
            else:
                for i in range(n):
                    inbuf[r, i] = 0.0
        process_block(inbuf, outbuf, n, par, ch_in, ch_st, ring, w, dry, amg, scratch, send_st,
                      am_st, am_key, bus_first, bus_nch, bus_st, bus_zs, bus_buf, la_x, la_rm, k, ctl)
        for r in range(outbuf.shape[0]):
            s = out_slot[r]
            if 0 <= s < n_phys_out:
                if g0 == 1.0 and dg == 0.0:
                    for i in range(n):
                        phys_out[s, start + i] += outbuf[r, i]
                else:
                    for i in range(n):
                        a = min(1.0, max(0.0, g0 + dg * (start + i)))
                        # smoothstep: a fade whose slope is zero at both ends (no corner a
                        # tone could reveal), and s(a) + s(1 - a) = 1 keeps correlated sums level
                        g = a * a * (3.0 - 2.0 * a)
                        phys_out[s, start + i] += np.float32(g) * outbuf[r, i]
        start += n


@njit(cache=True, nogil=True, error_model="numpy")
def run_cycle(root, phys_in, phys_out, nframes):
    """One audio cycle over the physical buffers (the body of every callback).

    Runs the current plan, steps a pending swap (warm-up, crossfade,
    adoption) and applies the master fade. Frames beyond ``nframes`` and
    outputs of no plan stay zero.
    """
    for s in range(phys_out.shape[0]):
        for i in range(nframes):
            phys_out[s, i] = 0.0
    cur = root[R_CUR]
    nxt = root[R_NEXT]
    if nxt != 0 and cur == 0:  # nothing playing: adopt at once, the master fade covers it
        root[R_CUR] = nxt
        root[R_NEXT] = 0
        root[R_SWAP_POS] = 0
        root[R_SWAPS] += 1
        cur = nxt
        nxt = 0
    if nxt != 0 and nxt != cur:
        pos = root[R_SWAP_POS]
        warm = root[R_WARM]
        xf = max(root[R_XFADE], 1)
        a_new = (pos - warm) / xf
        run_table(cur, phys_in, phys_out, nframes, 1.0 - a_new, -1.0 / xf)
        run_table(nxt, phys_in, phys_out, nframes, a_new, 1.0 / xf)
        pos += nframes
        if pos >= warm + xf:
            root[R_CUR] = nxt
            root[R_NEXT] = 0
            pos = 0
            root[R_SWAPS] += 1
        root[R_SWAP_POS] = pos
    elif cur != 0:
        run_table(cur, phys_in, phys_out, nframes, 1.0, 0.0)
    _master_fade(root, phys_out, nframes)
    root[R_CYCLES] += 1
    root[R_FRAMES] += nframes


@njit(cache=True, nogil=True, error_model="numpy")
def _master_fade(root, phys_out, nframes):
    # A linear ramp toward the target at a fixed slope: the daemon fades in
    # at start and out before it stops, so neither end clicks.
    fade = carray(address_to_voidptr(root[R_FADE]), (4,), np.float64)
    g = fade[F_GAIN]
    target = fade[F_TARGET]
    if g == 1.0 and target == 1.0:
        return
    step = fade[F_STEP]
    for i in range(nframes):
        if g < target:
            g = min(target, g + step)
        elif g > target:
            g = max(target, g - step)
        gf = np.float32(g)
        for s in range(phys_out.shape[0]):
            phys_out[s, i] *= gf
    fade[F_GAIN] = g


def table_for(arrays: list[np.ndarray]) -> np.ndarray:
    """A plan table (uint64) of the given arrays, checked against ``TABLE_TYPES``."""
    if len(arrays) != N_TABLE_ARRAYS:
        raise ValueError(f"a plan table holds {N_TABLE_ARRAYS} arrays, got {len(arrays)}")
    tab = np.zeros(4 * N_TABLE_ARRAYS, dtype=np.uint64)
    for i, (a, (dtype, ndim)) in enumerate(zip(arrays, TABLE_TYPES)):
        if a.dtype != np.dtype(dtype) or a.ndim != ndim or not a.flags.c_contiguous:
            raise TypeError(f"plan table entry {i}: expected C-contiguous {dtype} rank {ndim}, "
                            f"got {a.dtype} rank {a.ndim}")
        tab[4 * i] = a.ctypes.data
        tab[4 * i + 1:4 * i + 1 + ndim] = a.shape
    return tab
