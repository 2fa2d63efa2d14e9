"""Plan memory: every array of a plan carved from one huge-page-backed mapping.

Why not one numpy allocation per array:

* **Page colour.** A 4 KiB page's physical address picks the L2 sets its lines
  use. Arrays taken from a long-lived heap get scattered physical pages, and
  now and then the work buffers' pages crowd a few sets and evict each other.
  Measured on the 2-core EPYC guest, 64 channels x 128 frames: identical
  engines built one after another in one process took 115-170 us per block,
  but about one in eight took 280-390 us, and stayed that slow; re-allocating
  only its work buffers (same values, same offsets modulo 4 KiB) made it fast.
  A 2 MiB huge page is physically contiguous, so the plan spreads evenly over
  the cache, and one TLB entry covers it.
* **4 KiB aliasing.** Each array starts at its own multiple of 320 bytes past
  a 4 KiB boundary, so row n of two buffers never shares an address modulo
  4 KiB and a pass that reads one and writes the other does not stall on false
  store-to-load aliasing (measured: the mix pass took 226 us instead of 14 us
  at 64 x 64 when its buffers were page-aligned alike).

The mapping is anonymous (so zeroed), aligned to 2 MiB and advised
``MADV_HUGEPAGE`` where the platform has it; the kernel may still back it with
small pages (the daemon's ``mlockall`` then keeps them resident all the same).
It lives as long as any array carved from it.
"""

from __future__ import annotations

import mmap
from collections.abc import Sequence

import numpy as np

HUGE_PAGE = 2 << 20
PAGE = 4096
#: Array i starts ``(i * SKEW_BYTES) % PAGE`` bytes past a page boundary: an odd
#: multiple of 64 (a cache line), so 64 arrays get 64 distinct offsets.
SKEW_BYTES = 320


def _offsets(nbytes: Sequence[int]) -> tuple[list[int], int]:
    """Byte offset of each array and the total size, rounded up to a huge page."""
    offsets, at = [], 0
    for i, size in enumerate(nbytes):
        phase = (i * SKEW_BYTES) % PAGE
        at += (phase - at) % PAGE
        offsets.append(at)
        at += size
    return offsets, max(HUGE_PAGE, -(-at // HUGE_PAGE) * HUGE_PAGE)


def carve(specs: Sequence[tuple[tuple[int, ...], np.dtype | type | str]]) -> list[np.ndarray]:
    """Zeroed C-contiguous arrays, one per ``(shape, dtype)``, from one mapping.

    Parameters
    ----------
    specs : sequence of (shape, dtype)
        The arrays, in the order they are laid out (put the ones a pass
        touches together next to each other).

    Returns
    -------
    list of numpy.ndarray
        Writable views into the mapping, in the order of ``specs``.
    """
    dtypes = [np.dtype(d) for _, d in specs]
    shapes = [tuple(int(n) for n in s) for s, _ in specs]
    nbytes = [int(np.prod(s, dtype=np.int64)) * d.itemsize for s, d in zip(shapes, dtypes)]
    offsets, size = _offsets(nbytes)
    # map one huge page more than needed and use the 2 MiB-aligned part
    m = mmap.mmap(-1, size + HUGE_PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    raw = np.frombuffer(m, dtype=np.uint8)
    start = (-raw.ctypes.data) % HUGE_PAGE
    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    if advice is not None:
        try:
            m.madvise(advice, start, size)
        except OSError:  # no transparent huge pages in this kernel: small pages will do
            pass
    views = []
    for shape, dtype, off, nb in zip(shapes, dtypes, offsets, nbytes):
        views.append(raw[start + off:start + off + nb].view(dtype).reshape(shape))
    return views
