"""Callback timing from compiled code: ``clock_gettime(CLOCK_MONOTONIC)`` via libc.

The durations go into the root's ring (``R_TIMES``) for the control side's
p50/p99/max, without a system call beyond the vDSO clock read. Beside each
duration, ``R_STARTS`` keeps when the callback started and the frame time of
its cycle, so a late cycle can be told apart: the callback started late (the
cycle began late, or the thread was woken late) or it ran long.
"""

from __future__ import annotations

import ctypes.util

import llvmlite.binding as llvm
import numpy as np
from numba import carray, njit, types

from ..engine import realtime as R
from ..engine.realtime import address_to_voidptr

llvm.load_library_permanently(ctypes.util.find_library("c") or "libc.so.6")
_clock_gettime = types.ExternalFunction("clock_gettime", types.int32(types.int32, types.voidptr))
CLOCK_MONOTONIC = 1
CLOCK_THREAD_CPUTIME_ID = 3


@njit(inline="always")
def _clock_ns(root, clock):
    ts = carray(address_to_voidptr(root[R.R_TS]), (4,), np.int64)
    _clock_gettime(clock, address_to_voidptr(root[R.R_TS]))
    return ts[0] * 1_000_000_000 + ts[1]


@njit(inline="always")
def now_ns(root):
    """Monotonic time in ns (through the root's timespec scratch)."""
    return _clock_ns(root, CLOCK_MONOTONIC)


@njit(inline="always")
def thread_cpu_ns(root):
    """The audio thread's CPU time in ns while ``R_CPU_TIMES`` is set, else 0.

    Opt-in: the thread's clock is a system call (the vDSO serves only the
    wall clocks). A callback whose CPU time is far below its duration was not
    running for the difference: preempted, or its virtual CPU not scheduled.
    """
    if root[R.R_CPU_TIMES] == 0:
        return np.int64(0)
    return _clock_ns(root, CLOCK_THREAD_CPUTIME_ID)


@njit(inline="always")
def elapsed_ns(root, t0, c0, frame):
    """Record the time since ``t0`` in the durations ring, with ``t0``, the cycle's
    ``frame`` and the thread's CPU time since ``c0`` (see ``thread_cpu_ns``)."""
    times = carray(address_to_voidptr(root[R.R_TIMES]), (R.TIMES_LEN,), np.int64)
    starts = carray(address_to_voidptr(root[R.R_STARTS]), (R.TIMES_LEN, 3), np.int64)
    idx = root[R.R_TIMES_IDX]
    k = idx % R.TIMES_LEN
    # timed at both ends or not at all: a request that lands mid-callback counts from the next one
    c1 = thread_cpu_ns(root) if c0 != 0 else np.int64(0)
    starts[k, 2] = c1 - c0 if c1 != 0 else np.int64(0)
    times[k] = now_ns(root) - t0
    starts[k, 0] = t0
    starts[k, 1] = frame
    root[R.R_TIMES_IDX] = idx + 1
