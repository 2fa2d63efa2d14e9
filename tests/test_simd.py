"""Tiles of eight channels in registers (engine/kernels/simd.py) and the filter
sections that run on them: the same samples as the scalar ``tick``, bit for
bit, for any channel count (full tiles, a masked last tile), and no write
outside the rows they own."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from automixd.engine.kernels import simd as V
from automixd.engine.kernels import strip
from automixd.engine.kernels.filters import tick

GUARD = 8
SENTINEL = -7.25


def guarded(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``values`` whose rows have sentinel columns on both sides."""
    buf = np.full(values.shape[:-1] + (values.shape[-1] + 2 * GUARD,), SENTINEL)
    buf[..., GUARD:-GUARD] = values
    return buf, buf[..., GUARD:-GUARD]


def guarded_block(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A C-contiguous copy of the 2-D ``values`` (as the work buffer is) inside sentinels."""
    buf = np.full(values.size + 2 * GUARD, SENTINEL)
    buf[GUARD:-GUARD] = values.ravel()
    return buf, buf[GUARD:-GUARD].reshape(values.shape)


def assert_guards_intact(buf: np.ndarray) -> None:
    assert np.all(buf[..., :GUARD] == SENTINEL) and np.all(buf[..., -GUARD:] == SENTINEL)


@njit(cache=False)
def _tile_ops(a, b, s, out, n):
    for cb in range(0, n, V.WIDTH):
        k = min(V.WIDTH, n - cb)
        x, y = V.load(a, cb, k), V.load(b, cb, k)
        V.store(out, cb, k, (x + y) * s - 2.0 * x * y + (y - s))


@pytest.mark.parametrize("n", [1, 5, 8, 9, 16, 23])
def test_lanewise_arithmetic_matches_numpy_exactly(n):
    rng = np.random.default_rng(n)
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    buf, out = guarded(np.zeros(n))
    _tile_ops(a, b, 0.3, out, n)
    want = np.empty(n)
    for i in range(n):  # the scalar order of operations, with FMA allowed as in the kernels
        want[i] = _scalar_ops(a[i], b[i], 0.3)
    np.testing.assert_array_equal(out, want)
    assert_guards_intact(buf)


@njit(cache=False, fastmath={"contract"})
def _scalar_ops(x, y, s):
    return (x + y) * s - 2.0 * x * y + (y - s)


@njit(cache=False, fastmath={"contract"})
def _svf2_scalar(w, co1, st1, co2, st2):
    for n in range(w.shape[0]):
        for c in range(w.shape[1]):
            x, st1[0, c], st1[1, c] = tick(w[n, c], co1[0, c], co1[1, c], co1[2, c], co1[3, c], co1[4, c],
                                           co1[5, c], st1[0, c], st1[1, c])
            w[n, c], st2[0, c], st2[1, c] = tick(x, co2[0, c], co2[1, c], co2[2, c], co2[3, c], co2[4, c],
                                                 co2[5, c], st2[0, c], st2[1, c])


def _sections(rng, n_ch):
    """Coefficient rows of two sections (a bell and a high-pass), varied per channel."""
    from automixd.engine.kernels.filters import HIGH_PASS, PEAK, design

    co1, co2 = np.empty((6, n_ch)), np.empty((6, n_ch))
    tmp = np.empty(6)
    for c in range(n_ch):
        design(PEAK, 200.0 + 300.0 * c, rng.uniform(-12, 12), rng.uniform(0.5, 4), 48000.0, tmp, 0)
        co1[:, c] = tmp
        design(HIGH_PASS, 40.0 + 10.0 * c, 0.0, 0.7071, 48000.0, tmp, 0)
        co2[:, c] = tmp
    return co1, co2


@pytest.mark.parametrize("n_ch", [1, 3, 8, 9, 16, 17, 64])
def test_two_sections_on_tiles_equal_scalar_ticks(n_ch):
    rng = np.random.default_rng(n_ch)
    co1, co2 = _sections(rng, n_ch)
    x = rng.standard_normal((128, n_ch))
    ref_w, ref_s1, ref_s2 = x.copy(), np.zeros((2, n_ch)), np.zeros((2, n_ch))
    wbuf, w = guarded_block(x)
    sbuf, s = guarded(np.zeros((4, n_ch)))
    cbuf1, c1 = guarded(co1)
    cbuf2, c2 = guarded(co2)
    for n0, n1 in ((0, 64), (64, 100), (100, 128)):  # segments as the engine's control ticks split them
        strip._svf2(w, *c1, s[0], s[1], *c2, s[2], s[3], n0, n1)
    _svf2_scalar(ref_w, co1, ref_s1, co2, ref_s2)
    np.testing.assert_array_equal(w, ref_w)
    np.testing.assert_array_equal(s, np.vstack([ref_s1, ref_s2]))
    for buf in (wbuf, sbuf, cbuf1, cbuf2):
        assert_guards_intact(buf)
    np.testing.assert_array_equal(c1, co1)  # coefficients are only read


@pytest.mark.parametrize("n_ch", [1, 8, 13])
def test_ramping_section_equals_one_step_per_sample(n_ch):
    """A gliding section adds its increments every sample, then ticks: the
    tiled kernel leaves the same coefficients and samples as doing that per
    channel, and the single-section kernel matches the ramp with zero steps."""
    rng = np.random.default_rng(100 + n_ch)
    co, target = _sections(rng, n_ch)
    steps = (target - co) / 128.0
    x = rng.standard_normal((128, n_ch))
    w, coef, st = x.copy(), co.copy(), np.zeros((2, n_ch))
    cbuf, coef_g = guarded(coef)
    strip._svf_ramp(w, *coef_g, *steps, st[0], st[1], 0, 128)
    ref, rc, rs = x.copy(), co.copy(), np.zeros((2, n_ch))
    for n in range(128):
        rc += steps
        for c in range(n_ch):
            ref[n, c], rs[0, c], rs[1, c] = tick(ref[n, c], *rc[:, c], rs[0, c], rs[1, c])
    # the scalar reference above runs without FMA contraction, the kernels with it
    np.testing.assert_allclose(w, ref, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(coef_g, rc)  # additions only: no rounding to differ
    assert_guards_intact(cbuf)
    still, st2 = x.copy(), np.zeros((2, n_ch))
    strip._svf_ramp(still, *co.copy(), *np.zeros_like(steps), st2[0], st2[1], 0, 128)
    one, st1 = x.copy(), np.zeros((2, n_ch))
    strip._svf1(one, *co, st1[0], st1[1], 0, 128)
    np.testing.assert_array_equal(one, still)
    np.testing.assert_array_equal(st1, st2)


def test_a_tile_refuses_a_strided_row():
    @njit(cache=False)
    def load_column(a):
        return V.load(a[:, 0], 0, 8)

    with pytest.raises(Exception, match="contiguous float64 row"):
        load_column(np.zeros((8, 8)))
