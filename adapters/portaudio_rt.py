"""The PortAudio stream callback: a numba ``@cfunc`` (no Python per period).

PortAudio hands interleaved float32 buffers ``(frames, channels)``; the
callback de-interleaves them into the engine's ``(channels, frames)``
staging buffers and back, then runs the same cycle as the JACK callback.
"""

from __future__ import annotations

import numpy as np
from numba import carray, cfunc, types

from ..engine import realtime as R
from ..engine.realtime import address_to_voidptr, phys_views, run_cycle, voidptr_to_address
from .clock_rt import elapsed_ns, now_ns, thread_cpu_ns

#: int PaStreamCallback(const void *input, void *output, unsigned long frameCount,
#:     const PaStreamCallbackTimeInfo *timeInfo, PaStreamCallbackFlags statusFlags, void *userData)
STREAM_SIG = types.int32(types.voidptr, types.voidptr, types.uint64, types.voidptr, types.uint64,
                         types.voidptr)
PA_CONTINUE = 0


@cfunc(STREAM_SIG, nopython=True, error_model="numpy", cache=True)
def pa_stream(inp, outp, frames, time_info, status, arg):
    """``PaStreamCallback``: device → engine → device, for one buffer."""
    root = carray(arg, (R.N_ROOT,), np.int64)
    t0 = now_ns(root)
    c0 = thread_cpu_ns(root)
    frame = root[R.R_FRAMES]
    n = np.int64(frames)
    dev_in = root[R.R_DEV_IN]
    dev_out = root[R.R_DEV_OUT]
    cap = root[R.R_PHYS_FRAMES]
    if status != 0:  # input overflow / output underflow: PortAudio's xruns
        root[R.R_PA_XRUNS] += 1
    out = carray(outp, (n * dev_out,), np.float32)
    if n > cap:
        for i in range(n * dev_out):
            out[i] = 0.0
        root[R.R_OVERSIZE] += 1
        return PA_CONTINUE
    n_in = root[R.R_N_IN]
    n_out = root[R.R_N_OUT]
    phys_in, phys_out = phys_views(root, n)
    have_in = dev_in > 0 and voidptr_to_address(inp) != 0
    src = carray(inp, (n * dev_in if have_in else 0,), np.float32)
    for s in range(n_in):
        if have_in and s < dev_in:
            for i in range(n):
                phys_in[s, i] = src[i * dev_in + s]
        else:
            for i in range(n):
                phys_in[s, i] = 0.0
    run_cycle(root, phys_in, phys_out, n)
    for s in range(dev_out):
        if s < n_out:
            for i in range(n):
                out[i * dev_out + s] = phys_out[s, i]
        else:
            for i in range(n):
                out[i * dev_out + s] = 0.0
    elapsed_ns(root, t0, c0, frame)
    return PA_CONTINUE
