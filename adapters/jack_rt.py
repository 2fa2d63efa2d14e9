"""The JACK process callback: a numba ``@cfunc``, so no Python runs per period.

libjack's symbols are made visible to LLVM and declared as external
functions, so the callback fetches port buffers itself. Its ``void *``
argument is the address of the live engine's root array (see
``automixd.engine.realtime``); everything else is reached from there.
"""

from __future__ import annotations

import ctypes.util

import llvmlite.binding as llvm
import numpy as np
from numba import carray, cfunc, types

from ..engine import realtime as R
from ..engine.realtime import address_to_voidptr, phys_views, run_cycle
from .clock_rt import elapsed_ns, now_ns, thread_cpu_ns

LIBJACK = ctypes.util.find_library("jack") or "libjack.so.0"
llvm.load_library_permanently(LIBJACK)

_port_get_buffer = types.ExternalFunction("jack_port_get_buffer",
                                          types.voidptr(types.voidptr, types.uint32))
_last_frame_time = types.ExternalFunction("jack_last_frame_time", types.uint32(types.voidptr))

PROCESS_SIG = types.int32(types.uint32, types.voidptr)


@cfunc(PROCESS_SIG, nopython=True, error_model="numpy", cache=True)
def jack_process(nframes, arg):
    """``JackProcessCallback``: ports → engine → ports, for one period."""
    root = carray(arg, (R.N_ROOT,), np.int64)
    t0 = now_ns(root)
    c0 = thread_cpu_ns(root)
    n = np.int64(nframes)
    n_in = root[R.R_N_IN]
    n_out = root[R.R_N_OUT]
    cap = root[R.R_PHYS_FRAMES]
    in_ports = carray(address_to_voidptr(root[R.R_IN_PORTS]), (R.MAX_PORTS,), np.uint64)
    out_ports = carray(address_to_voidptr(root[R.R_OUT_PORTS]), (R.MAX_PORTS,), np.uint64)
    frame = root[R.R_FRAMES]
    if root[R.R_CLIENT] != 0:
        frame = np.int64(_last_frame_time(address_to_voidptr(root[R.R_CLIENT])))
    if root[R.R_STARTED] == 0 and root[R.R_CLIENT] != 0:
        root[R.R_FIRST_FRAME] = frame
        root[R.R_FIRST_AT] = root[R.R_FRAMES]
        root[R.R_STARTED] = 1
    if n > cap:  # larger than any JACK period; answer with silence rather than overrun
        for s in range(n_out):
            if out_ports[s] != 0:
                buf = carray(_port_get_buffer(address_to_voidptr(out_ports[s]), nframes), (n,),
                             np.float32)
                for i in range(n):
                    buf[i] = 0.0
        root[R.R_OVERSIZE] += 1
        return 0
    phys_in, phys_out = phys_views(root, n)
    for s in range(n_in):
        if in_ports[s] != 0:
            buf = carray(_port_get_buffer(address_to_voidptr(in_ports[s]), nframes), (n,), np.float32)
            for i in range(n):
                phys_in[s, i] = buf[i]
        else:
            for i in range(n):
                phys_in[s, i] = 0.0
    run_cycle(root, phys_in, phys_out, n)
    for s in range(n_out):
        if out_ports[s] != 0:
            buf = carray(_port_get_buffer(address_to_voidptr(out_ports[s]), nframes), (n,), np.float32)
            for i in range(n):
                buf[i] = phys_out[s, i]
    elapsed_ns(root, t0, c0, frame)
    return 0
