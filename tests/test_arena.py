"""Plan memory: one 2 MiB-aligned mapping, arrays apart modulo 4 KiB, state that survives."""

from __future__ import annotations

import gc

import numpy as np

from automixd.engine import Engine
from automixd.engine.arena import HUGE_PAGE, PAGE, carve


def test_carved_arrays_are_zeroed_disjoint_and_start_at_distinct_page_offsets():
    specs = [((64, 64), np.float64)] * 8 + [((3,), np.int64), ((24002, 64), np.float32),
                                            ((0, 5), np.float64)]
    arrays = carve(specs)
    first = arrays[0].ctypes.data
    assert first % HUGE_PAGE == 0  # the mapping's aligned part starts with array 0
    spans = []
    for a, (shape, dtype) in zip(arrays, specs):
        assert a.shape == shape and a.dtype == np.dtype(dtype) and a.flags.c_contiguous
        assert a.flags.writeable and not a.any()
        assert a.ctypes.data % 64 == 0  # whole cache lines, any element type aligned
        spans.append((a.ctypes.data, a.ctypes.data + a.nbytes))
    spans.sort()
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:]))
    # the eight work buffers: row r of each at eight different addresses modulo 4 KiB
    assert len({a.ctypes.data % PAGE for a in arrays[:8]}) == 8


def test_arrays_keep_their_mapping_alive():
    (a,) = carve([((1000,), np.float64)])
    a[:] = np.arange(1000)
    gc.collect()  # the mapping is referenced only through the view
    assert a.sum() == 999 * 1000 / 2


def test_plan_state_lives_in_one_mapping():
    eng = Engine.from_scene({"channels": 8})
    args = [x for arg in eng.plan.state_args() for x in (arg if isinstance(arg, tuple) else (arg,))]
    lo = min(a.ctypes.data for a in args)
    hi = max(a.ctypes.data + a.nbytes for a in args)
    span_pages = -(-(hi - lo) // HUGE_PAGE)
    total_pages = -(-sum(a.nbytes for a in args) // HUGE_PAGE)
    assert lo % HUGE_PAGE == 0
    assert span_pages <= total_pages + 1
